use thiserror::Error;

#[derive(Debug, Error)]
pub enum GateError {
    #[error("regression suite {file}: {message}")]
    Suite { file: String, message: String },
    #[error(
        "the champion reads {champion} and the candidate {candidate}: gates compare models of one schema"
    )]
    Schema { champion: String, candidate: String },
    #[error(
        "model {model} could not score the gate's rows ({status}): no gate passes on a model that does not score"
    )]
    Scoring { model: String, status: String },
    #[error(transparent)]
    Triage(#[from] arbiter_triage::TriageError),
}
