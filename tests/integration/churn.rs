//! Contractual churn (the sBG model): the survival-table reader's typed errors, the
//! published fits through the stage, and `patronage fit sbg --survival` against the stage.

use std::io::Write;

use patronage::Error;
use patronage::clv::sbg::SurvivalData;
use patronage::stages::churn::{fit_survival, read_survival};

use crate::cli::patronage;

const HIGH_END: &str = "datasets/sbg/high_end.csv";
const REGULAR: &str = "datasets/sbg/regular.csv";

fn table(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

fn read(text: &str) -> patronage::Result<SurvivalData> {
    let f = table(text);
    read_survival(f.path())
}

/// Fader & Hardie (2007): alpha 0.668, beta 3.806 (high end) and 0.704, 1.182 (regular).
#[test]
fn survival_files_give_the_published_fits() {
    for (path, alpha, beta) in [(HIGH_END, 0.668, 3.806), (REGULAR, 0.704, 1.182)] {
        let out = fit_survival(&read_survival(path).unwrap(), &Default::default()).unwrap();
        assert!((out.model.alpha() - alpha).abs() < 5e-4, "{path}");
        assert!((out.model.beta() - beta).abs() < 5e-4, "{path}");
    }
}

#[test]
fn bad_survival_tables_are_typed_errors_naming_row_and_column() {
    let bad_row = |text: &str| match read(text) {
        Err(Error::BadRow { row, column, .. }) => (row, column),
        other => panic!("{text:?}: expected BadRow, got {other:?}"),
    };
    // increasing counts
    assert_eq!(
        bad_row("period,customers\n0,100\n1,80\n2,90\n"),
        (3, "customers".into())
    );
    // non-integer
    assert_eq!(
        bad_row("period,customers\n0,100\n1,80.5\n"),
        (2, "customers".into())
    );
    // negative
    assert_eq!(
        bad_row("period,customers\n0,100\n1,-3\n"),
        (2, "customers".into())
    );
    // missing period 0
    assert_eq!(
        bad_row("period,customers\n1,100\n2,80\n"),
        (1, "period".into())
    );
    // a gap
    assert_eq!(
        bad_row("period,customers\n0,100\n1,80\n3,70\n"),
        (3, "period".into())
    );
    // an empty cell
    assert_eq!(
        bad_row("period,customers\n0,100\n1,\n"),
        (2, "customers".into())
    );
    // empty: header only, or period 0 alone
    assert!(matches!(
        read("period,customers\n"),
        Err(Error::EmptyTable { .. })
    ));
    assert!(matches!(
        read("period,customers\n0,100\n"),
        Err(Error::EmptyTable { .. })
    ));
    // a column missing, or text in a number column
    assert!(matches!(
        read("period,active\n0,100\n1,80\n"),
        Err(Error::MissingColumn { ref column, .. }) if column == "customers"
    ));
    assert!(matches!(
        read("period,customers\n0,100\n1,eighty\n"),
        Err(Error::WrongType { ref column, .. }) if column == "customers"
    ));
}

#[test]
fn cli_fit_sbg_json_equals_the_stage() {
    let (code, out, err) = patronage(&["fit", "sbg", "--survival", REGULAR, "--json"]);
    assert_eq!(code, 0, "{err}");
    let cli: serde_json::Value = serde_json::from_str(&out).unwrap();
    let stage = fit_survival(&read_survival(REGULAR).unwrap(), &Default::default())
        .unwrap()
        .to_json();
    assert_eq!(cli, stage);
    for key in ["standard_errors", "log_likelihood", "converged"] {
        assert!(cli.get(key).is_some(), "{key}");
    }
    assert!(cli["params"]["alpha"].is_number() && cli["params"]["beta"].is_number());
}

#[test]
fn cli_fit_sbg_refuses_what_does_not_fit() {
    // a bad table: a data error (exit 1; the library test above checks its row and column)
    let f = table("period,customers\n0,100\n1,120\n");
    let (code, _, err) = patronage(&["fit", "sbg", "--survival", f.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    // sbg with transactions, or --survival with another model: usage errors (exit 2)
    let (code, _, _) = patronage(&[
        "fit",
        "sbg",
        "datasets/retail_sample.csv",
        "--survival",
        REGULAR,
    ]);
    assert_eq!(code, 2);
    let (code, _, _) = patronage(&["fit", "bg-nbd", "--survival", REGULAR]);
    assert_eq!(code, 2);
}
