//! Named accessors of each fitted model's estimates, in the literature's notation
//! (`bg.r()`, `pnbd.beta()`, `gg.q()`), so callers need not know the order of
//! [`Fitted::params`].

use super::{BgBb, BgNbd, Fitted, GammaGamma, MbgNbd, ParetoNbd};

/// Implements one accessor per parameter, checked against the model's own parameter
/// names by the tests below.
macro_rules! accessors {
    ($model:ty: $( $index:literal => $name:ident, $doc:literal; )*) => {
        impl Fitted<$model> {
            $(
                #[doc = $doc]
                pub fn $name(&self) -> f64 {
                    self.params()[$index]
                }
            )*
        }
    };
}

accessors!(BgNbd:
    0 => r, "r: shape of the gamma distribution of purchase rates.";
    1 => alpha, "alpha: scale of the gamma distribution of purchase rates.";
    2 => a, "a: first shape of the beta distribution of dropout probabilities.";
    3 => b, "b: second shape of the beta distribution of dropout probabilities.";
);
accessors!(MbgNbd:
    0 => r, "r: shape of the gamma distribution of purchase rates.";
    1 => alpha, "alpha: scale of the gamma distribution of purchase rates.";
    2 => a, "a: first shape of the beta distribution of dropout probabilities.";
    3 => b, "b: second shape of the beta distribution of dropout probabilities.";
);
accessors!(ParetoNbd:
    0 => r, "r: shape of the gamma distribution of purchase rates.";
    1 => alpha, "alpha: scale of the gamma distribution of purchase rates.";
    2 => s, "s: shape of the gamma distribution of dropout rates.";
    3 => beta, "beta: scale of the gamma distribution of dropout rates.";
);
accessors!(BgBb:
    0 => alpha, "alpha: first shape of the beta distribution of transaction probabilities.";
    1 => beta, "beta: second shape of the beta distribution of transaction probabilities.";
    2 => gamma, "gamma: first shape of the beta distribution of dropout probabilities.";
    3 => delta, "delta: second shape of the beta distribution of dropout probabilities.";
);
accessors!(GammaGamma:
    0 => p, "p: shape of the gamma distribution of spend per transaction.";
    1 => q, "q: shape of the gamma distribution of customers' scale parameters.";
    2 => gamma, "gamma: scale of the gamma distribution of customers' scale parameters.";
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Each accessor returns the parameter of its own name (published CDNOW estimates).
    #[test]
    fn accessors_follow_the_parameter_names() {
        let bg =
            Fitted::<BgNbd>::from_params(&[0.2425982, 4.4136842, 0.7929899, 2.4261667]).unwrap();
        assert_eq!(bg.param_names(), ["r", "alpha", "a", "b"]);
        assert_eq!([bg.r(), bg.alpha(), bg.a(), bg.b()], bg.params());
        let mbg = Fitted::<MbgNbd>::from_params(&[0.525, 6.183, 0.891, 1.614]).unwrap();
        assert_eq!(mbg.param_names(), ["r", "alpha", "a", "b"]);
        assert_eq!([mbg.r(), mbg.alpha(), mbg.a(), mbg.b()], mbg.params());
        let p = Fitted::<ParetoNbd>::from_params(&[0.553, 10.578, 0.606, 11.669]).unwrap();
        assert_eq!(p.param_names(), ["r", "alpha", "s", "beta"]);
        assert_eq!([p.r(), p.alpha(), p.s(), p.beta()], p.params());
        let bb = Fitted::<BgBb>::from_params(&[1.203507, 0.7497667, 0.6567568, 2.783887]).unwrap();
        assert_eq!(bb.param_names(), ["alpha", "beta", "gamma", "delta"]);
        assert_eq!([bb.alpha(), bb.beta(), bb.gamma(), bb.delta()], bb.params());
        let gg = Fitted::<GammaGamma>::from_params(&[6.25, 3.74, 15.44]).unwrap();
        assert_eq!(gg.param_names(), ["p", "q", "gamma"]);
        assert_eq!([gg.p(), gg.q(), gg.gamma()], gg.params());
    }
}
