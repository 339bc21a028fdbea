//! A real PostgreSQL server for the tests of durable sessions: its own data folder made with
//! `initdb`, listening on a free loopback port, killed with SIGKILL on demand and started again
//! on the same data (crash recovery included).

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `postgres` on a free loopback port, stopped and its data removed when dropped.
pub struct Postgres {
    child: Option<Child>,
    bin: PathBuf,
    data: PathBuf,
    /// The user the server runs as, when the tests run as root (PostgreSQL refuses root).
    user: Option<(u32, u32)>,
    pub port: u16,
}

/// The folder of `initdb`, `postgres` and `pg_isready`: on the `PATH`, or Debian's
/// `/usr/lib/postgresql/<version>/bin` (scripts/test.sh installs the package).
fn bin_dir() -> PathBuf {
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| {
        std::env::split_paths(&p)
            .filter(|d| {
                ["initdb", "postgres", "pg_isready"]
                    .iter()
                    .all(|p| d.join(p).is_file())
            })
            .collect::<Vec<_>>()
    });
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| d.join("initdb").is_file());
    on_path
        .chain(debian)
        .next()
        .expect("PostgreSQL is installed (scripts/test.sh installs it)")
}

/// The uid and gid of the `postgres` user, from /etc/passwd.
fn postgres_user() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres"))
            .then(|| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))
            .flatten()
    })
}

impl Postgres {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data =
            std::env::temp_dir().join(format!("tokenspec-postgres-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).unwrap();
        // Whether the tests run as root: the folder just made is owned by whoever we are.
        let root = std::fs::metadata(&data)
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
            .unwrap_or(false);
        let user = if root {
            let user = postgres_user().expect("a `postgres` user to run the server as");
            chown(&data, user);
            Some(user)
        } else {
            None
        };
        let mut server = Postgres {
            child: None,
            bin: bin_dir(),
            data,
            user,
            port,
        };
        let status = server
            .command("initdb")
            .args(["-D"])
            .arg(&server.data)
            .args(["-U", "tokenspec", "--auth=trust", "--no-sync"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("initdb runs");
        assert!(status.success(), "initdb failed");
        server.spawn();
        server
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Starts the server on its data (after a kill, it recovers from its write-ahead log).
    /// Right after a kill, the old server's backends may still hold its shared memory for a
    /// moment, and the new one refuses to start: it is started again until they are gone.
    pub fn spawn(&mut self) {
        for _ in 0..100 {
            let mut child = self
                .command("postgres")
                .arg("-D")
                .arg(&self.data)
                .args([
                    "-p",
                    &self.port.to_string(),
                    "-c",
                    "listen_addresses=127.0.0.1",
                ])
                .arg("-c")
                .arg(format!("unix_socket_directories={}", self.data.display()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("postgres starts");
            for _ in 0..400 {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                let ready = self
                    .command("pg_isready")
                    .args([
                        "-h",
                        "127.0.0.1",
                        "-p",
                        &self.port.to_string(),
                        "-U",
                        "tokenspec",
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if ready {
                    self.child = Some(child);
                    return;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("postgres did not start");
    }

    /// Kills the server with SIGKILL, as a crash would: no shutdown, no checkpoint.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("postgres://tokenspec@127.0.0.1:{}/postgres", self.port)
    }
}

/// Gives `path` to `user`, so the server running as that user can write there.
fn chown(path: &Path, (uid, gid): (u32, u32)) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown the data folder");
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
