//! The fitted-model type every model shares: parameters, fit report, coefficient table,
//! JSON round trip.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use crate::clv::fit::{Coefficient, FitOptions, FitReport, Fitter, Model, coefficient_table};
use crate::error::{Error, Result};

/// Version of the JSON layout written by [`Fitted::to_json`].
pub const FORMAT_VERSION: u32 = 1;

/// A model with its parameters: the result of a fit, or built from known parameters with
/// [`Fitted::from_params`]. Immutable: refitting makes a new value.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted<M> {
    params: Vec<f64>,
    report: Option<FitReport>,
    _model: PhantomData<M>,
}

#[derive(Serialize, Deserialize)]
struct ModelFile {
    format_version: u32,
    model: String,
    params: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    report: Option<FitReport>,
}

impl<M: Model> Fitted<M> {
    /// The fit builder: `BgNbd::fitter().penalizer(0.001).fit(&data)`.
    pub fn builder() -> Fitter<M> {
        Fitter::with_options(FitOptions::default())
    }

    pub(crate) fn from_fit(params: Vec<f64>, report: FitReport) -> Self {
        Fitted {
            params,
            report: Some(report),
            _model: PhantomData,
        }
    }

    /// A model at known parameters (in [`Fitted::param_names`] order), e.g. published
    /// estimates, for scoring without fitting.
    ///
    /// # Errors
    ///
    /// [`Error::Model`] when the count is wrong or a parameter is not positive and finite.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::BgNbd;
    /// let m = BgNbd::from_params(&[0.2425982, 4.4136842, 0.7929899, 2.4261667]).unwrap();
    /// assert_eq!(m.param("alpha"), Some(4.4136842));
    /// ```
    pub fn from_params(params: &[f64]) -> Result<Self> {
        if params.len() != M::PARAM_NAMES.len() {
            return Err(Error::Model {
                model: M::NAME.into(),
                reason: format!(
                    "expected {} parameters ({}), got {}",
                    M::PARAM_NAMES.len(),
                    M::PARAM_NAMES.join(", "),
                    params.len()
                ),
            });
        }
        for (name, v) in M::PARAM_NAMES.iter().zip(params) {
            if !(v.is_finite() && *v > 0.0) {
                return Err(Error::Model {
                    model: M::NAME.into(),
                    reason: format!("parameter {name} = {v} must be positive and finite"),
                });
            }
        }
        Ok(Fitted {
            params: params.to_vec(),
            report: None,
            _model: PhantomData,
        })
    }

    /// The model's name (`bg-nbd`, `mbg-nbd`, `pareto-nbd`, `bg-bb`, `gamma-gamma`).
    pub fn name(&self) -> &'static str {
        M::NAME
    }

    /// Parameter values in [`Fitted::param_names`] order.
    pub fn params(&self) -> &[f64] {
        &self.params
    }

    /// Parameter names in the literature's notation.
    pub fn param_names(&self) -> &'static [&'static str] {
        M::PARAM_NAMES
    }

    /// One parameter by name.
    pub fn param(&self, name: &str) -> Option<f64> {
        M::PARAM_NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| self.params[i])
    }

    /// How the fit went (None for a model built from known parameters).
    pub fn report(&self) -> Option<&FitReport> {
        self.report.as_ref()
    }

    /// Total log-likelihood of the fit (None without a fit).
    pub fn log_likelihood(&self) -> Option<f64> {
        self.report.as_ref().map(|r| r.log_likelihood)
    }

    /// Total log-likelihood of `data` under this model's parameters (for instance the
    /// published estimates, or a holdout sample).
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::{BgNbd, RepeatData};
    /// let m = BgNbd::from_params(&[0.24, 4.41, 0.79, 2.43]).unwrap();
    /// let d = RepeatData::new(&[0.0, 2.0], &[0.0, 30.0], &[38.0, 38.0]).unwrap();
    /// assert!(m.log_likelihood_on(&d) < 0.0);
    /// ```
    pub fn log_likelihood_on(&self, data: &M::Data) -> f64 {
        -M::neg_ll(&self.params, data, None).0
    }

    /// Coefficient table: estimate, standard error and 95% interval per parameter
    /// (standard errors are `NaN` for a model built from known parameters).
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::BgNbd;
    /// let m = BgNbd::from_params(&[0.24, 4.41, 0.79, 2.43]).unwrap();
    /// assert_eq!(m.summary()[0].name, "r");
    /// ```
    pub fn summary(&self) -> Vec<Coefficient> {
        let se = self
            .report
            .as_ref()
            .map(|r| r.standard_errors.clone())
            .unwrap_or_else(|| vec![f64::NAN; self.params.len()]);
        coefficient_table(M::PARAM_NAMES, &self.params, &se)
    }

    /// Serialises to JSON: `{"format_version", "model", "params": {name: value}, "report"}`.
    ///
    /// # Errors
    ///
    /// [`Error::Serialize`] if serialisation fails (it does not for finite values).
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::BgNbd;
    /// let m = BgNbd::from_params(&[0.24, 4.41, 0.79, 2.43]).unwrap();
    /// let back = BgNbd::from_json(&m.to_json().unwrap()).unwrap();
    /// assert_eq!(m, back);
    /// ```
    pub fn to_json(&self) -> Result<String> {
        let mut params = serde_json::Map::new();
        for (n, v) in M::PARAM_NAMES.iter().zip(&self.params) {
            params.insert((*n).to_string(), serde_json::json!(v));
        }
        let file = ModelFile {
            format_version: FORMAT_VERSION,
            model: M::NAME.into(),
            params,
            report: self.report.clone(),
        };
        serde_json::to_string_pretty(&file).map_err(|source| Error::Serialize {
            what: "model JSON".into(),
            source,
        })
    }

    /// Loads a model written by [`Fitted::to_json`].
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] for malformed JSON, another model's file, an unknown format
    /// version or a missing parameter; [`Error::Model`] for invalid parameter values.
    pub fn from_json(json: &str) -> Result<Self> {
        let parse = |reason: String| Error::Parse {
            what: format!("{} model JSON", M::NAME),
            reason,
        };
        let file: ModelFile = serde_json::from_str(json).map_err(|e| parse(e.to_string()))?;
        if file.format_version != FORMAT_VERSION {
            return Err(parse(format!(
                "format version {} (this build reads {FORMAT_VERSION})",
                file.format_version
            )));
        }
        if file.model != M::NAME {
            return Err(parse(format!("the file holds a {} model", file.model)));
        }
        let mut params = Vec::with_capacity(M::PARAM_NAMES.len());
        for n in M::PARAM_NAMES {
            let v = file
                .params
                .get(*n)
                .and_then(|v| v.as_f64())
                .ok_or_else(|| parse(format!("parameter `{n}` missing or not a number")))?;
            params.push(v);
        }
        let mut m = Self::from_params(&params)?;
        m.report = file.report;
        Ok(m)
    }
}
