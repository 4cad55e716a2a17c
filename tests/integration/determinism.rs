//! Same input, same output bits, whatever the number of rayon threads.

use patronage::prelude::*;
use patronage::simulate::{SimulationSpec, simulate};

#[test]
fn summary_and_rfm_do_not_depend_on_the_thread_count() {
    let sim = simulate(&SimulationSpec {
        customers: 3000,
        seed: 9,
        ..SimulationSpec::default()
    })
    .unwrap();
    let run = || {
        let tx = Transactions::from_frame(sim.transactions.clone(), TransactionSchema::default())
            .unwrap();
        let s = tx
            .summary(
                &SummaryOptions::weekly()
                    .calibration_end("2024-09-30")
                    .observation_end("2025-06-29"),
            )
            .unwrap();
        let rfm = s.rfm(&RfmOptions::default()).unwrap();
        (s.into_frame(), rfm.into_frame())
    };
    let (many_s, many_r) = run();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let (one_s, one_r) = pool.install(run);
    assert!(many_s.equals_missing(&one_s));
    assert!(many_r.equals_missing(&one_r));
    assert_eq!(many_s.height(), 3000);
}
