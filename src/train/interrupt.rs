//! A request to stop the batch loop early (Ctrl-C in Python), checked between batches.
//!
//! The Python bindings set it when a signal arrives during a long engine call; the loop
//! then returns [`crate::Error::Interrupted`] after the batch it is on, so the model
//! keeps the weights of the last completed step.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks the running batch loop to stop after its current batch.
pub fn request() {
    REQUESTED.store(true, Ordering::Relaxed);
}

/// Withdraws a request (once the interrupted call has returned).
pub fn clear() {
    REQUESTED.store(false, Ordering::Relaxed);
}

/// An error if a stop was requested.
pub fn check() -> crate::Result<()> {
    if REQUESTED.load(Ordering::Relaxed) {
        crate::bail!(Interrupted, "interrupted");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_seen_until_cleared() {
        check().unwrap();
        request();
        assert!(matches!(check(), Err(crate::Error::Interrupted(_))));
        clear();
        check().unwrap();
    }
}
