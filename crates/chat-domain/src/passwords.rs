//! bcrypt, bounded: hashing is CPU-heavy, so it runs on the blocking pool with
//! at most one hash per core at a time, never on an async worker. New
//! passwords (registrations) wait in their own queue and hold at most half of
//! the slots, so a flood of registrations cannot starve the logins.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::error::{Result, ValidationError};

/// bcrypt reads at most 72 bytes; longer passwords are refused, never truncated.
pub const MAX_PASSWORD_BYTES: usize = 72;
pub const MIN_PASSWORD_BYTES: usize = 6;

pub fn validate_password(password: &str) -> Result<(), ValidationError> {
    if password.is_empty() {
        return Err(ValidationError::Missing);
    }
    if !(MIN_PASSWORD_BYTES..=MAX_PASSWORD_BYTES).contains(&password.len()) {
        return Err(ValidationError::PasswordLength);
    }
    // bcrypt implementations disagree on NUL (C strings end there).
    if password.contains('\0') {
        return Err(ValidationError::PasswordCharacters);
    }
    if password.trim().is_empty() {
        return Err(ValidationError::PasswordBlank);
    }
    Ok(())
}

/// A new password checked and hashed on this thread, for the operator's
/// tools (the server uses [`Passwords::hash`], off its async workers).
pub fn hash_new_password(password: &str, cost: u32) -> Result<String> {
    validate_password(password)?;
    Ok(bcrypt::hash(password, cost)?)
}

#[derive(Clone)]
pub struct Passwords {
    cost: u32,
    /// A hash of nothing anyone knows, verified against when the user does not
    /// exist, so that a wrong name costs as much time as a wrong password.
    decoy_hash: Arc<str>,
    /// The hashing slots, in arrival order.
    permits: Arc<Semaphore>,
    /// What registrations take first: at most half of the slots.
    new_password_permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("cost", &self.cost)
            .finish()
    }
}

impl Passwords {
    /// `cost` is bcrypt's log2 work factor (12 in production; 4 is enough for tests).
    pub fn new(cost: u32) -> Result<Self> {
        let decoy = bcrypt::hash("decoy password that matches no account", cost)?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self::with_slots(cost, decoy, cores))
    }

    /// `slots` hashes at a time (at least two, so that one is always free
    /// for logins).
    fn with_slots(cost: u32, decoy_hash: String, slots: usize) -> Self {
        let slots = slots.max(2);
        Self {
            cost,
            decoy_hash: decoy_hash.into(),
            permits: Arc::new(Semaphore::new(slots)),
            new_password_permits: Arc::new(Semaphore::new(slots / 2)),
        }
    }

    pub fn cost(&self) -> u32 {
        self.cost
    }

    /// A `$2b$` hash of a password already validated.
    pub async fn hash(&self, password: String) -> Result<String> {
        let cost = self.cost;
        // Never closed, so acquiring cannot fail.
        let _share = self.new_password_permits.acquire().await.ok();
        self.bounded(move || Ok(bcrypt::hash(password, cost)?))
            .await
    }

    /// Whether `password` matches `hash`; with no hash (unknown user) it
    /// spends the same time and answers false. A malformed stored hash is a
    /// mismatch, not an error.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.decoy_hash.to_string());
        self.bounded(move || {
            if password.len() > MAX_PASSWORD_BYTES {
                // Still do the work: the time must not tell the length apart.
                let _ = bcrypt::verify(&password.as_bytes()[..MAX_PASSWORD_BYTES], &hash);
                return Ok(false);
            }
            Ok(bcrypt::verify(&password, &hash).unwrap_or(false) && known)
        })
        .await
    }

    async fn bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        // The semaphore is never closed, so acquiring cannot fail.
        let permit = self.permits.clone().acquire_owned().await.ok();
        let out = tokio::task::spawn_blocking(work).await?;
        drop(permit);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 12 registrations are queued on 2 slots, then one login: the login
    /// waits for at most the one registration in progress, never for the
    /// queue (without the separate queue it came after all 12).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_login_is_not_queued_behind_registrations() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let cost = 8;
        let p = Passwords::with_slots(cost, bcrypt::hash("decoy", cost).unwrap(), 2);
        let stored = bcrypt::hash("secret1", cost).unwrap();
        let hashed = Arc::new(AtomicUsize::new(0));
        let registrations: Vec<_> = (0..12)
            .map(|i| {
                let (p, hashed) = (p.clone(), hashed.clone());
                tokio::spawn(async move {
                    p.hash(format!("password{i}")).await.unwrap();
                    hashed.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        // Let the registrations take their places in the queue first.
        while p.new_password_permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(p.verify("secret1".into(), Some(stored)).await.unwrap());
        let done = hashed.load(Ordering::SeqCst);
        assert!(done <= 3, "the login waited for {done} registrations");
        for r in registrations {
            r.await.unwrap();
        }
        assert_eq!(hashed.load(Ordering::SeqCst), 12);
    }

    #[test]
    fn password_bounds_are_bytes() {
        assert!(validate_password("123456").is_ok());
        assert_eq!(
            validate_password("12345"),
            Err(ValidationError::PasswordLength)
        );
        assert!(validate_password(&"a".repeat(72)).is_ok());
        assert_eq!(
            validate_password(&"a".repeat(73)),
            Err(ValidationError::PasswordLength)
        );
        // 24 three-byte characters are 72 bytes; 25 are 75.
        assert!(validate_password(&"密".repeat(24)).is_ok());
        assert_eq!(
            validate_password(&"密".repeat(25)),
            Err(ValidationError::PasswordLength)
        );
        assert_eq!(validate_password(""), Err(ValidationError::Missing));
        assert_eq!(
            validate_password("       "),
            Err(ValidationError::PasswordBlank)
        );
        assert_eq!(
            validate_password("secret\0x"),
            Err(ValidationError::PasswordCharacters)
        );
    }

    #[tokio::test]
    async fn hashes_are_2b_and_verify() {
        let p = Passwords::new(4).unwrap();
        let h = p.hash("secret1".into()).await.unwrap();
        assert!(h.starts_with("$2b$04$"), "{h}");
        assert!(p.verify("secret1".into(), Some(h.clone())).await.unwrap());
        assert!(!p.verify("secret2".into(), Some(h)).await.unwrap());
        assert!(!p.verify("secret1".into(), None).await.unwrap());
        assert!(!p
            .verify("secret1".into(), Some("not a hash".into()))
            .await
            .unwrap());
    }
}
