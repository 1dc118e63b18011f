//! The LightGBM models of a bundle, fitted in parallel: the ensemble members (each on its own
//! seeded subsample of the training split), the multiclass category head, and the plain
//! baseline kept for evaluation.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::error::TrainError;
use crate::lgbm::{self, TrainSpec};
use crate::options::TrainOptions;
use crate::prepare::Prepared;
use crate::train::Progress;

/// Model texts in LightGBM's format.
pub(crate) struct Trees {
    pub members: Vec<String>,
    pub head: String,
    pub baseline: String,
}

fn params(opts: &TrainOptions, seed: u64, objective: &str) -> Vec<(String, String)> {
    [
        ("num_leaves", opts.num_leaves.to_string()),
        ("learning_rate", opts.learning_rate.to_string()),
        ("feature_fraction", "0.9".into()),
        ("seed", seed.to_string()),
        ("objective", objective.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

enum Job {
    Member(usize),
    Head,
    Baseline,
}

pub(crate) fn fit(
    p: &Prepared,
    opts: &TrainOptions,
    progress: &dyn Progress,
) -> Result<Trees, TrainError> {
    let jobs: Vec<Job> = (0..opts.members)
        .map(Job::Member)
        .chain([Job::Head, Job::Baseline])
        .collect();
    progress.stage("training models", jobs.len() as u64);
    let names = &p.encoder.spec.names;
    let categorical = p.encoder.categorical();
    let binary = |rows: &[usize]| -> Vec<f32> {
        rows.iter()
            .map(|&r| f32::from(u8::from(p.malicious[r])))
            .collect()
    };
    let mut texts: Vec<String> = jobs
        .par_iter()
        .map(|job| {
            let (rows, y, params, iterations) = match job {
                Job::Member(m) => {
                    let mut rows = p.parts[0].clone();
                    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed.wrapping_add(1 + *m as u64));
                    rows.shuffle(&mut rng);
                    rows.truncate(((rows.len() as f64) * opts.subsample).ceil() as usize);
                    rows.sort_unstable();
                    let y = binary(&rows);
                    let seed = opts.seed.wrapping_add(101 + *m as u64);
                    (rows, y, params(opts, seed, "binary"), opts.iterations)
                }
                Job::Head => {
                    let rows = p.parts[0].clone();
                    let y = rows.iter().map(|&r| p.class[r] as f32).collect();
                    let mut params = params(opts, opts.seed, "multiclass");
                    params.push(("num_class".into(), p.classes.len().to_string()));
                    // Without regularisation, leaves of rare classes whose hessians vanish get
                    // outputs in the tens of thousands (seen on NSL-KDD's u2r).
                    params.push(("lambda_l2".into(), "1".into()));
                    params.push(("min_sum_hessian_in_leaf".into(), "0.1".into()));
                    (rows, y, params, opts.iterations)
                }
                Job::Baseline => {
                    // One model, default parameters, every labelled row.
                    let rows: Vec<usize> = (0..p.malicious.len()).collect();
                    let y = binary(&rows);
                    let params = vec![
                        ("objective".into(), "binary".into()),
                        ("seed".into(), opts.seed.to_string()),
                    ];
                    (rows, y, params, 100)
                }
            };
            let weight: Vec<f32> = rows.iter().map(|&r| p.weight[r]).collect();
            let uniform = weight.iter().all(|w| *w == 1.0);
            let text = lgbm::train(&TrainSpec {
                x: &p.rows(&rows),
                n_features: p.width,
                y: &y,
                names,
                categorical: &categorical,
                params,
                iterations,
                weight: (!uniform).then_some(&weight[..]),
            });
            progress.step();
            text
        })
        .collect::<Result<_, _>>()?;
    let baseline = texts.pop().expect("baseline job");
    let head = texts.pop().expect("head job");
    Ok(Trees {
        members: texts,
        head,
        baseline,
    })
}
