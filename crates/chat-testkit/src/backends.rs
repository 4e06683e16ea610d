//! One way to run a test on both backends.

/// Runs each test body once on SQLite and once on PostgreSQL.
///
/// ```ignore
/// use chat_testkit::{on_both_backends, Backend, TestDatabase};
///
/// on_both_backends! {
///     /// A fresh, migrated database per run.
///     async fn some_rule(db: TestDatabase) { /* ... */ }
///
///     /// Just the backend: the test makes what it needs.
///     async fn some_server_rule(backend: Backend) { /* ... */ }
///
///     /// Without `async`: a plain `#[test]`.
///     fn some_blocking_rule(backend: Backend) { /* ... */ }
/// }
/// ```
///
/// Each `name` becomes a module with the tests `name::sqlite` and
/// `name::postgres`; the argument is made by [`OnBackend`](crate::OnBackend)
/// (for [`Backend`](crate::Backend), [`TestDatabase`](crate::TestDatabase), or
/// a type of the test crate). The items see the test file's names (`use
/// super::*`). Async tests run on tokio's multi-threaded runtime (the test
/// crate depends on tokio) with 2 worker threads, or as many as a leading
/// `worker_threads = N;` asks for.
#[macro_export]
macro_rules! on_both_backends {
    (worker_threads = $threads:tt; $($items:tt)*) => {
        $crate::__on_both_backends_items! { ($threads) $($items)* }
    };
    ($($items:tt)*) => {
        $crate::__on_both_backends_items! { (2) $($items)* }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __on_both_backends_items {
    (($threads:tt)) => {};
    (($threads:tt)
        $(#[$meta:meta])*
        async fn $name:ident($arg:ident : $ty:ty) $body:block
        $($rest:tt)*
    ) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[allow(unused_mut, unused_variables)]
            async fn body(mut $arg: $ty) $body

            #[::tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn sqlite() {
                body(<$ty as $crate::OnBackend>::on_backend($crate::Backend::Sqlite)).await
            }

            #[::tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn postgres() {
                body(<$ty as $crate::OnBackend>::on_backend($crate::Backend::Postgres)).await
            }
        }
        $crate::__on_both_backends_items! { ($threads) $($rest)* }
    };
    (($threads:tt)
        $(#[$meta:meta])*
        fn $name:ident($arg:ident : $ty:ty) $body:block
        $($rest:tt)*
    ) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[allow(unused_mut, unused_variables)]
            fn body(mut $arg: $ty) $body

            #[test]
            fn sqlite() {
                body(<$ty as $crate::OnBackend>::on_backend($crate::Backend::Sqlite))
            }

            #[test]
            fn postgres() {
                body(<$ty as $crate::OnBackend>::on_backend($crate::Backend::Postgres))
            }
        }
        $crate::__on_both_backends_items! { ($threads) $($rest)* }
    };
}
