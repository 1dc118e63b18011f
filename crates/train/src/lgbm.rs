//! Training through LightGBM's C API.
//!
//! `lightgbm3` builds datasets with empty parameters, and LightGBM refuses to change
//! `categorical_feature` once a dataset exists, so categorical splits need the dataset built
//! here with its parameters. Prediction goes through the safe `lightgbm3::Booster`.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_int, c_void};

use lightgbm3_sys as sys;

use crate::error::TrainError;

fn check(code: c_int, what: &str) -> Result<(), TrainError> {
    if code == 0 {
        return Ok(());
    }
    // SAFETY: LightGBM returns a pointer to a thread-local, NUL-terminated message.
    let message = unsafe { CStr::from_ptr(sys::LGBM_GetLastError()) }
        .to_string_lossy()
        .into_owned();
    Err(TrainError::LightGbm(format!("{what}: {message}")))
}

struct Dataset(sys::DatasetHandle);

impl Drop for Dataset {
    fn drop(&mut self) {
        // SAFETY: the handle came from LGBM_DatasetCreateFromMat and is freed once.
        unsafe { sys::LGBM_DatasetFree(self.0) };
    }
}

struct Booster(sys::BoosterHandle);

impl Drop for Booster {
    fn drop(&mut self) {
        // SAFETY: the handle came from LGBM_BoosterCreate and is freed once.
        unsafe { sys::LGBM_BoosterFree(self.0) };
    }
}

/// What to train.
#[derive(Debug, Clone)]
pub struct TrainSpec<'a> {
    /// Row-major features, NaN for missing.
    pub x: &'a [f64],
    pub n_features: usize,
    /// Binary 0/1 or class index.
    pub y: &'a [f32],
    /// Feature names written into the model text (sanitised to `[A-Za-z0-9_]`).
    pub names: &'a [String],
    /// Indices of categorical features (values are non-negative integer codes).
    pub categorical: &'a [usize],
    /// Booster parameters in LightGBM's `key=value` form (objective, seed, …).
    pub params: Vec<(String, String)>,
    pub iterations: usize,
    /// Per-row weights (`None`: every row counts once).
    pub weight: Option<&'a [f32]>,
}

/// Trains a booster and returns it in LightGBM's model text format.
pub fn train(spec: &TrainSpec<'_>) -> Result<String, TrainError> {
    let rows = spec.y.len();
    if rows == 0 || spec.x.len() != rows * spec.n_features {
        return Err(TrainError::LightGbm(format!(
            "{} labels for {} feature values of width {}",
            rows,
            spec.x.len(),
            spec.n_features
        )));
    }
    let cats: Vec<String> = spec.categorical.iter().map(|c| c.to_string()).collect();
    let mut dataset_params = String::from("verbosity=-1 max_bin=255 use_missing=true");
    if !cats.is_empty() {
        dataset_params.push_str(&format!(" categorical_feature={}", cats.join(",")));
    }
    for (k, v) in &spec.params {
        if k == "seed" || k == "data_random_seed" {
            dataset_params.push_str(&format!(" data_random_seed={v}"));
        }
    }
    let dataset_params = CString::new(dataset_params).expect("no NUL in parameters");
    let mut handle: sys::DatasetHandle = std::ptr::null_mut();
    // SAFETY: x outlives the call, holds rows * n_features f64 values in row-major order.
    check(
        unsafe {
            sys::LGBM_DatasetCreateFromMat(
                spec.x.as_ptr() as *const c_void,
                sys::C_API_DTYPE_FLOAT64 as c_int,
                rows as i32,
                spec.n_features as i32,
                1,
                dataset_params.as_ptr(),
                std::ptr::null_mut(),
                &mut handle,
            )
        },
        "building the training dataset",
    )?;
    let dataset = Dataset(handle);
    if spec.names.len() == spec.n_features {
        let names: Vec<CString> = spec
            .names
            .iter()
            .map(|n| {
                let clean: String = n
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                CString::new(clean).expect("no NUL after sanitising")
            })
            .collect();
        let mut ptrs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
        // SAFETY: ptrs points at n_features NUL-terminated strings that outlive the call.
        check(
            unsafe {
                sys::LGBM_DatasetSetFeatureNames(dataset.0, ptrs.as_mut_ptr(), ptrs.len() as c_int)
            },
            "naming features",
        )?;
    }
    let label = CString::new("label").expect("static");
    // SAFETY: y holds `rows` f32 values and outlives the call.
    check(
        unsafe {
            sys::LGBM_DatasetSetField(
                dataset.0,
                label.as_ptr(),
                spec.y.as_ptr() as *const c_void,
                rows as c_int,
                sys::C_API_DTYPE_FLOAT32 as c_int,
            )
        },
        "setting labels",
    )?;
    if let Some(w) = spec.weight {
        if w.len() != rows {
            return Err(TrainError::LightGbm(format!(
                "{} weights for {rows} rows",
                w.len()
            )));
        }
        let field = CString::new("weight").expect("static");
        // SAFETY: w holds `rows` f32 values and outlives the call.
        check(
            unsafe {
                sys::LGBM_DatasetSetField(
                    dataset.0,
                    field.as_ptr(),
                    w.as_ptr() as *const c_void,
                    rows as c_int,
                    sys::C_API_DTYPE_FLOAT32 as c_int,
                )
            },
            "setting weights",
        )?;
    }
    let mut params = String::from("verbosity=-1 num_threads=1 deterministic=true");
    if !cats.is_empty() {
        params.push_str(&format!(" categorical_feature={}", cats.join(",")));
    }
    for (k, v) in &spec.params {
        params.push_str(&format!(" {k}={v}"));
    }
    let params = CString::new(params).expect("no NUL in parameters");
    let mut bh: sys::BoosterHandle = std::ptr::null_mut();
    // SAFETY: the dataset handle is live for the booster's lifetime (dropped after it).
    check(
        unsafe { sys::LGBM_BoosterCreate(dataset.0, params.as_ptr(), &mut bh) },
        "creating the booster",
    )?;
    let booster = Booster(bh);
    for _ in 0..spec.iterations {
        let mut finished: c_int = 0;
        // SAFETY: booster is live.
        check(
            unsafe { sys::LGBM_BoosterUpdateOneIter(booster.0, &mut finished) },
            "boosting",
        )?;
        if finished != 0 {
            break;
        }
    }
    let text = save(&booster)?;
    drop(booster);
    drop(dataset);
    Ok(text)
}

fn save(booster: &Booster) -> Result<String, TrainError> {
    let mut len: i64 = 0;
    // SAFETY: a zero-length buffer only asks for the needed length.
    check(
        unsafe {
            sys::LGBM_BoosterSaveModelToString(
                booster.0,
                0,
                -1,
                0,
                0,
                &mut len,
                std::ptr::null_mut(),
            )
        },
        "measuring the model text",
    )?;
    let mut buf = vec![0u8; len as usize];
    let mut written: i64 = 0;
    // SAFETY: buf holds `len` bytes, the size LightGBM asked for.
    check(
        unsafe {
            sys::LGBM_BoosterSaveModelToString(
                booster.0,
                0,
                -1,
                0,
                len,
                &mut written,
                buf.as_mut_ptr() as *mut c_char,
            )
        },
        "saving the model text",
    )?;
    let text = CStr::from_bytes_until_nul(&buf)
        .map_err(|_| TrainError::LightGbm("model text is not NUL-terminated".into()))?;
    Ok(text.to_string_lossy().into_owned())
}

/// LightGBM's own TreeSHAP (`pred_contrib`), single-threaded, on a row-major matrix: for each
/// row and class, one value per feature then the expected value. Arbiter explains with its own
/// implementation; this is the oracle its tests and benchmark compare against.
pub fn predict_contrib(
    model_text: &str,
    x: &[f64],
    n_features: usize,
) -> Result<Vec<f64>, TrainError> {
    let text = CString::new(model_text)
        .map_err(|_| TrainError::LightGbm("model text holds a NUL byte".into()))?;
    let mut iterations: c_int = 0;
    let mut handle: sys::BoosterHandle = std::ptr::null_mut();
    // SAFETY: text is NUL-terminated and outlives the call.
    check(
        unsafe {
            sys::LGBM_BoosterLoadModelFromString(text.as_ptr(), &mut iterations, &mut handle)
        },
        "loading the model text",
    )?;
    let booster = Booster(handle);
    let mut classes: c_int = 0;
    // SAFETY: booster is live.
    check(
        unsafe { sys::LGBM_BoosterGetNumClasses(booster.0, &mut classes) },
        "reading the class count",
    )?;
    let rows = x.len() / n_features.max(1);
    let mut out = vec![0.0f64; rows * classes as usize * (n_features + 1)];
    let mut len: i64 = 0;
    let params = CString::new("num_threads=1").expect("static");
    // SAFETY: x holds rows * n_features values; out is sized for rows × classes × (features + 1),
    // the layout LightGBM documents for contributions.
    check(
        unsafe {
            sys::LGBM_BoosterPredictForMat(
                booster.0,
                x.as_ptr() as *const c_void,
                sys::C_API_DTYPE_FLOAT64 as c_int,
                rows as i32,
                n_features as i32,
                1,
                sys::C_API_PREDICT_CONTRIB as c_int,
                0,
                -1,
                params.as_ptr(),
                &mut len,
                out.as_mut_ptr(),
            )
        },
        "computing contributions",
    )?;
    out.truncate(len as usize);
    Ok(out)
}

/// LightGBM's own raw scores (rows × classes, row-major) for model text: the oracle Arbiter's
/// tree walker is tested against, and the single-model baseline of the benchmark.
pub fn predict_raw(model_text: &str, x: &[f64], n_features: usize) -> Result<Vec<f64>, TrainError> {
    let booster = lightgbm3::Booster::from_string(model_text)
        .map_err(|e| TrainError::LightGbm(format!("loading the model text: {e}")))?;
    booster
        .raw_scores_with_params(x, n_features as i32, true, "num_threads=1")
        .map_err(|e| TrainError::LightGbm(format!("predicting: {e}")))
}
