//! An exact sum of `f64` values: the result is the true sum of the inputs rounded once
//! (to nearest, ties to even), so it does not depend on the order of the additions or on
//! how the inputs were split into partial sums that were merged later.
//!
//! The phase-1 aggregates that add floats across customers (cohort revenue per period)
//! use it, which is what makes them identical for any blocking of the customers (the
//! block-independence invariant in ARCHITECTURE.md). Sums within one customer keep their
//! row order and plain addition: all rows of a customer are always in one block.
//!
//! Every finite `f64` is an integer multiple of 2^-1074 below 2^1024, so the sum is held
//! as a fixed-point number in 32-bit digits (stored in `i64` so that carries can wait),
//! about half a kilobyte per sum.

/// Bits of one digit.
const DIGIT_BITS: u32 = 32;
/// Digits: enough for 2^1024 / 2^-1074 (2,098 bits), plus room for the carries of up to
/// 2^62 additions above the largest finite value.
const DIGITS: usize = 68;
/// Additions after which the digits are normalised (each addition adds less than 2^32 to
/// a digit; `i64` holds 2^63).
const NORMALISE_EVERY: u32 = 1 << 30;

/// A running exact sum. `Default` is an empty sum (0).
///
/// # Example
///
/// ```
/// use patronage::transactions::exact_sum::ExactSum;
/// let mut a = ExactSum::default();
/// for x in [1e16, 1.0, -1e16] {
///     a.add(x);
/// }
/// assert_eq!(a.value(), 1.0); // plain addition in this order gives 0.0
/// let mut b = ExactSum::default();
/// b.add(0.25);
/// a.merge(&b);
/// assert_eq!(a.value(), 1.25);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ExactSum {
    digits: Box<[i64; DIGITS]>,
    pending: u32,
    /// Sum of the non-finite inputs (NaN or an infinity), which the digits cannot hold.
    special: Option<u64>,
}

impl Default for ExactSum {
    fn default() -> Self {
        ExactSum {
            digits: Box::new([0; DIGITS]),
            pending: 0,
            special: None,
        }
    }
}

impl std::fmt::Debug for ExactSum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ExactSum").field(&self.value()).finish()
    }
}

impl ExactSum {
    /// Adds one value. NaN and infinities make the sum NaN or infinite as plain
    /// addition would.
    pub fn add(&mut self, x: f64) {
        if !x.is_finite() {
            let s = self.special.map_or(x, |b| f64::from_bits(b) + x);
            self.special = Some(s.to_bits());
            return;
        }
        if x == 0.0 {
            return;
        }
        let bits = x.to_bits();
        let exponent = ((bits >> 52) & 0x7ff) as u32;
        let fraction = bits & ((1u64 << 52) - 1);
        // x = mantissa * 2^(position - 1074).
        let (mantissa, position) = if exponent == 0 {
            (fraction, 0)
        } else {
            (fraction | (1u64 << 52), exponent - 1)
        };
        let digit = (position / DIGIT_BITS) as usize;
        let wide = u128::from(mantissa) << (position % DIGIT_BITS);
        let sign = if x < 0.0 { -1 } else { 1 };
        for k in 0..3 {
            let part = ((wide >> (DIGIT_BITS * k)) & 0xffff_ffff) as i64;
            if part != 0 {
                self.digits[digit + k as usize] += sign * part;
            }
        }
        self.pending += 1;
        if self.pending >= NORMALISE_EVERY {
            self.normalise();
        }
    }

    /// Adds another sum to this one (the result is the exact sum of both inputs).
    pub fn merge(&mut self, other: &ExactSum) {
        if let Some(b) = other.special {
            self.add(f64::from_bits(b));
        }
        let mut other = other.clone();
        // Each side at most half the budget, so the digit-wise sum cannot overflow.
        for s in [&mut *self, &mut other] {
            if s.pending >= NORMALISE_EVERY / 2 {
                s.normalise();
            }
        }
        for (a, b) in self.digits.iter_mut().zip(other.digits.iter()) {
            *a += b;
        }
        self.pending += other.pending + 1;
    }

    /// Carries so that every digit but the top one is in `0..2^32`.
    fn normalise(&mut self) {
        let mut carry = 0i64;
        for d in self.digits.iter_mut() {
            let v = *d + carry;
            carry = v >> DIGIT_BITS;
            *d = v - (carry << DIGIT_BITS);
        }
        self.digits[DIGITS - 1] += carry << DIGIT_BITS;
        self.pending = 0;
    }

    /// The sum, rounded once to the nearest `f64` (ties to even); ±infinity when it
    /// overflows, NaN or an infinity when such a value was added.
    pub fn value(&self) -> f64 {
        if let Some(b) = self.special {
            return f64::from_bits(b);
        }
        let mut s = self.clone();
        s.normalise();
        let negative = s.digits[DIGITS - 1] < 0;
        if negative {
            for d in s.digits.iter_mut() {
                *d = -*d;
            }
            s.normalise();
        }
        let magnitude = s.magnitude();
        if negative { -magnitude } else { magnitude }
    }

    /// The value of normalised, non-negative digits.
    fn magnitude(&self) -> f64 {
        let Some(top) = self.digits.iter().rposition(|&d| d != 0) else {
            return 0.0;
        };
        // The top three digits as one integer, with the lower ones as a sticky bit.
        let low = top.saturating_sub(2);
        let mut v: u128 = 0;
        for k in (low..=top).rev() {
            v = (v << DIGIT_BITS) | self.digits[k] as u128;
        }
        let sticky = self.digits[..low].iter().any(|&d| d != 0);
        let mut scale = (low as i64) * i64::from(DIGIT_BITS) - 1074;
        let bits = 128 - v.leading_zeros() as i64;
        let mantissa = if bits > 53 {
            let shift = (bits - 53) as u32;
            let rest = v & ((1u128 << shift) - 1);
            let half = 1u128 << (shift - 1);
            let mut m = v >> shift;
            if rest > half || (rest == half && (sticky || m & 1 == 1)) {
                m += 1;
            }
            scale += i64::from(shift);
            m
        } else {
            v
        };
        let mantissa_bits = 128 - i64::from(mantissa.leading_zeros());
        if mantissa_bits + scale > 1024 {
            return f64::INFINITY;
        }
        scaled(mantissa as f64, scale)
    }
}

/// `m * 2^e` for an integer `m <= 2^53`, exact whenever the result is representable
/// (two steps keep each factor a normal number).
fn scaled(m: f64, e: i64) -> f64 {
    let half = e / 2;
    m * power_of_two(half) * power_of_two(e - half)
}

fn power_of_two(e: i64) -> f64 {
    debug_assert!((-1022..=1023).contains(&e));
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// Neumaier's compensated summation: the rounding error of each addition is kept and
/// added back at the end, so a customer's total of n prices is off by about one rounding
/// instead of up to n (a naive sum of CDNOW prices printed `100.50000000000001`). Cheap
/// enough for the per-customer sums of phase 1, where [`ExactSum`] would cost too much.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Compensated {
    sum: f64,
    carry: f64,
}

impl Compensated {
    /// A sum that starts at `x`.
    pub(crate) fn of(x: f64) -> Self {
        Compensated { sum: x, carry: 0.0 }
    }

    /// Adds `x`.
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.sum + x;
        self.carry += if self.sum.abs() >= x.abs() {
            (self.sum - t) + x
        } else {
            (x - t) + self.sum
        };
        self.sum = t;
    }

    /// The sum so far.
    pub(crate) fn value(self) -> f64 {
        self.sum + self.carry
    }

    /// The compensated sum of `values`.
    pub(crate) fn sum(values: impl IntoIterator<Item = f64>) -> f64 {
        let mut acc = Compensated::default();
        for v in values {
            acc.add(v);
        }
        acc.value()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn compensated_sums_lose_what_naive_sums_lose_only_once() {
        use super::Compensated;
        // Ten 0.1s: naively 0.9999999999999999.
        assert_eq!(Compensated::sum([0.1; 10]), 1.0);
        assert_ne!([0.1_f64; 10].iter().sum::<f64>(), 1.0);
        // Cancellation: 1e16 + 1 - 1e16 keeps the 1.
        assert_eq!(Compensated::sum([1e16, 1.0, -1e16]), 1.0);
        // Agrees with the exact sum on prices.
        let prices: Vec<f64> = (0..1000).map(|i| f64::from(i % 97) * 0.37 + 0.01).collect();
        let mut exact = ExactSum::default();
        for &p in &prices {
            exact.add(p);
        }
        assert_eq!(Compensated::sum(prices.iter().copied()), exact.value());
    }

    use super::*;
    use rand::{Rng, SeedableRng, seq::SliceRandom};

    fn sum(xs: &[f64]) -> f64 {
        let mut s = ExactSum::default();
        xs.iter().for_each(|&x| s.add(x));
        s.value()
    }

    #[test]
    fn small_integers_and_cancellation() {
        assert_eq!(sum(&[]), 0.0);
        assert_eq!(sum(&[1.0, 2.0, 3.5]), 6.5);
        assert_eq!(sum(&[1e308, 1e308, -1e308]), 1e308);
        assert_eq!(sum(&[1e16, 1.0, -1e16]), 1.0);
        assert_eq!(sum(&[-3.0, 1.0]), -2.0);
        assert_eq!(sum(&[0.1, 0.2]), 0.1 + 0.2); // one rounding: same as plain here
        assert_eq!(
            sum(&[f64::MIN_POSITIVE / 4.0, f64::MIN_POSITIVE / 4.0]),
            f64::MIN_POSITIVE / 2.0
        );
        assert_eq!(sum(&[5e-324, 5e-324, -5e-324]), 5e-324);
        assert_eq!(sum(&[f64::MAX, f64::MAX]), f64::INFINITY);
        assert_eq!(sum(&[-f64::MAX, -f64::MAX]), f64::NEG_INFINITY);
        assert!(sum(&[1.0, f64::NAN]).is_nan());
        assert_eq!(sum(&[1.0, f64::INFINITY]), f64::INFINITY);
    }

    #[test]
    fn rounds_once_to_nearest_even() {
        // 2^53 + 1 is a tie between 2^53 and 2^53 + 2: even wins.
        let two53 = 9_007_199_254_740_992.0;
        assert_eq!(sum(&[two53, 1.0]), two53);
        // A tie broken by a tiny remainder further down rounds up.
        assert_eq!(sum(&[two53, 1.0, 1e-300]), two53 + 2.0);
        assert_eq!(sum(&[two53 + 2.0, 1.0]), two53 + 4.0);
    }

    #[test]
    fn order_and_splitting_do_not_matter() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..50 {
            let n = rng.random_range(1..400);
            let mut xs: Vec<f64> = (0..n)
                .map(|_| {
                    let scale = 10f64.powi(rng.random_range(-8..12));
                    rng.random_range(-1.0..1.0) * scale
                })
                .collect();
            let whole = sum(&xs);
            xs.shuffle(&mut rng);
            assert_eq!(sum(&xs).to_bits(), whole.to_bits());
            // Split into parts, merge in a random order.
            let cut = rng.random_range(0..=xs.len());
            let (a, b) = xs.split_at(cut);
            let mut sa = ExactSum::default();
            a.iter().for_each(|&x| sa.add(x));
            let mut sb = ExactSum::default();
            b.iter().for_each(|&x| sb.add(x));
            sb.merge(&sa);
            assert_eq!(sb.value().to_bits(), whole.to_bits());
            // Against a wide fixed-point reference where the inputs allow it: values
            // rounded to multiples of 2^-30 below 2^60 sum exactly in i128.
            let ys: Vec<f64> = xs
                .iter()
                .map(|x| (x * 2f64.powi(30)).round() / 2f64.powi(30))
                .collect();
            let exact: i128 = ys.iter().map(|y| (y * 2f64.powi(30)) as i128).sum();
            assert_eq!(sum(&ys), exact as f64 / 2f64.powi(30));
        }
    }
}
