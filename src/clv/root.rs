//! One root finder for the models' one-dimensional equations: Brent's method on a
//! bracket. Used by the profile-likelihood bounds (`interval::profile`) and by the
//! retention what-if's search for the dropout that moves the retention rate by the asked
//! points (`retention::shift_retention`).

use crate::error::Result;

/// Where Brent's method stops.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tolerance {
    /// Absolute tolerance on the root (added to a relative `2 ε |x|`).
    pub(crate) x: f64,
    /// Stop as soon as `|f(x)|` is at most this.
    pub(crate) f: f64,
    /// Evaluations of `f` at most; the best point so far is returned after them.
    pub(crate) max_iterations: usize,
}

/// Brent's method for the root of `f` between `a` and `b`, where `f(a) = fa` and
/// `f(b) = fb` have opposite signs (or one is 0): inverse quadratic interpolation or the
/// secant step when they stay inside the bracket, bisection otherwise (Brent 1973, as in
/// Numerical Recipes' `zbrent`). Returns the point with the smaller `|f|` of the last
/// bracket.
///
/// # Errors
///
/// Whatever `f` returns as an error, at once.
pub(crate) fn brent(
    mut a: f64,
    mut fa: f64,
    mut b: f64,
    mut fb: f64,
    tolerance: Tolerance,
    mut f: impl FnMut(f64) -> Result<f64>,
) -> Result<f64> {
    let (mut c, mut fc) = (a, fa);
    let (mut d, mut e) = (b - a, b - a);
    for _ in 0..tolerance.max_iterations {
        if (fb > 0.0) == (fc > 0.0) && fb != 0.0 && fc != 0.0 {
            (c, fc) = (a, fa);
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            (a, fa) = (b, fb);
            (b, fb) = (c, fc);
            (c, fc) = (a, fa);
        }
        let tol = 2.0 * f64::EPSILON * b.abs() + 0.5 * tolerance.x;
        let xm = 0.5 * (c - b);
        if xm.abs() <= tol || fb.abs() <= tolerance.f {
            return Ok(b);
        }
        if e.abs() >= tol && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q) = if a == c {
                (2.0 * xm * s, 1.0 - s)
            } else {
                let (q, r) = (fa / fc, fb / fc);
                (
                    s * (2.0 * xm * q * (q - r) - (b - a) * (r - 1.0)),
                    (q - 1.0) * (r - 1.0) * (s - 1.0),
                )
            };
            if p > 0.0 {
                q = -q;
            }
            p = p.abs();
            let min1 = 3.0 * xm * q - (tol * q).abs();
            let min2 = (e * q).abs();
            if 2.0 * p < min1.min(min2) {
                e = d;
                d = p / q;
            } else {
                d = xm;
                e = d;
            }
        } else {
            d = xm;
            e = d;
        }
        (a, fa) = (b, fb);
        b += if d.abs() > tol { d } else { tol.copysign(xm) };
        fb = f(b)?;
    }
    Ok(if fc.abs() < fb.abs() { c } else { b })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIGHT: Tolerance = Tolerance {
        x: 1e-14,
        f: 0.0,
        max_iterations: 200,
    };

    #[test]
    fn finds_roots_of_smooth_and_steep_functions() {
        let cube = brent(0.0, -2.0, 2.0, 6.0, TIGHT, |x| Ok(x * x * x - 2.0)).unwrap();
        assert!((cube - 2f64.cbrt()).abs() < 1e-13, "{cube}");
        // Either orientation of the bracket.
        let cos = brent(2.0, 2f64.cos(), 1.0, 1f64.cos(), TIGHT, |x| Ok(x.cos())).unwrap();
        assert!((cos - std::f64::consts::FRAC_PI_2).abs() < 1e-13, "{cos}");
        // A function flat near the root then steep: bisection keeps the bracket.
        let steep = |x: f64| Ok((20.0 * (x - 0.3)).tanh() + 1e-3 * (x - 0.3));
        let (fa, fb) = (steep(-5.0).unwrap(), steep(5.0).unwrap());
        let root = brent(-5.0, fa, 5.0, fb, TIGHT, steep).unwrap();
        assert!((root - 0.3).abs() < 1e-12, "{root}");
    }

    #[test]
    fn an_endpoint_root_and_the_evaluation_cap() {
        let at_a = brent(1.0, 0.0, 3.0, 2.0, TIGHT, |x| Ok(x - 1.0)).unwrap();
        assert_eq!(at_a, 1.0);
        let mut calls = 0;
        let capped = Tolerance {
            max_iterations: 3,
            ..TIGHT
        };
        let x = brent(0.0, -1.0, 10.0, 99.0, capped, |x| {
            calls += 1;
            Ok(x * x - 1.0)
        })
        .unwrap();
        assert_eq!(calls, 3);
        assert!((0.0..=10.0).contains(&x));
    }

    #[test]
    fn the_function_s_error_is_returned() {
        let err = brent(0.0, -1.0, 1.0, 1.0, TIGHT, |_| {
            Err(crate::error::Error::invalid("x", "refused"))
        })
        .unwrap_err();
        assert!(matches!(err, crate::error::Error::InvalidOption { .. }));
    }
}
