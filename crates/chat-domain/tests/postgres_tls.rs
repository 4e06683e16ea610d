//! TLS to PostgreSQL works with the libpq built into the binaries (pq-sys
//! `bundled`, OpenSSL `vendored`): managed databases require it. A libpq built
//! without TLS refuses `sslmode=require` itself ("not compiled in"); ours
//! must either connect over TLS or be refused by a server that has none.

use chat_testkit::postgres_admin_url;
use diesel::prelude::*;
use diesel::sql_types::Bool;

#[derive(QueryableByName)]
struct Tls {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

#[test]
fn the_built_in_libpq_speaks_tls() {
    let url = postgres_admin_url();
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{sep}sslmode=require");
    match PgConnection::establish(&url) {
        Ok(mut conn) => {
            let tls: Tls =
                diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                    .get_result(&mut conn)
                    .expect("pg_stat_ssl of this connection");
            assert!(tls.ssl, "sslmode=require connected without TLS");
        }
        Err(e) => {
            let message = e.to_string();
            assert!(
                !message.contains("not compiled in"),
                "the bundled libpq has no TLS: {message}"
            );
            assert!(
                message.contains("does not support SSL"),
                "only a server without TLS may refuse: {message}"
            );
        }
    }
}
