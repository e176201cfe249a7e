//! The throw-away PostgreSQL harness itself: a server starts as an unprivileged user on a free
//! loopback port, answers, survives a crash-stop and restart with its data, and is removed.

#[path = "common/pg.rs"]
mod pg;

use std::process::Command;

fn psql(pg: &pg::TestPostgres, db: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &pg.url(db),
            "-c",
            sql,
        ])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn throwaway_server_starts_restarts_and_is_removed() {
    if pg::skip_requested() {
        return;
    }
    let root;
    {
        let pg = pg::TestPostgres::start();
        root = pg.root().to_path_buf();
        pg.create_database("harness");
        psql(
            &pg,
            "harness",
            "CREATE TABLE t (v integer); INSERT INTO t VALUES (42)",
        );
        // The cluster lives in the temporary directory.
        let data_dir = psql(&pg, "harness", "SELECT current_setting('data_directory')");
        assert!(
            data_dir.starts_with(&root.display().to_string()),
            "{data_dir}"
        );
        pg.stop();
        assert!(std::net::TcpStream::connect(("127.0.0.1", pg.port)).is_err());
        pg.start_server();
        assert_eq!(psql(&pg, "harness", "SELECT v FROM t"), "42");
    }
    assert!(!root.exists(), "{} left behind", root.display());
}
