//! Backend benchmark (a bench binary, not criterion): seeds the databases the issue names,
//! runs the real `bedside serve` as a child process, and reports latency percentiles, seed
//! and import rates, and the server's memory.
//!
//!   cargo bench --bench backend -- [--patients 1000000] [--charts 10000] [--requests 500]
//!
//! Databases are cached in target/bench/ between runs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bedside::seed::{Depth, SeedOptions, seed};
use bedside::store::Store;
use rand::{Rng, SeedableRng};

// The same allocator as the `bedside` binary, so seed and import rates match what users get.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let patients = arg("--patients", 1_000_000);
    let charts = arg("--charts", 10_000);
    let requests = arg("--requests", 500) as usize;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let anchor = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();

    let minimal = dir.join(format!("minimal-{patients}.db"));
    ensure_seeded(
        &minimal,
        SeedOptions {
            patients,
            seed: 1,
            anchor,
            depth: Depth::Minimal,
            large_charts: 0,
        },
    );
    let full = dir.join(format!("full-{charts}.db"));
    ensure_seeded(
        &full,
        SeedOptions {
            patients: charts,
            seed: 2,
            anchor,
            depth: Depth::Full,
            large_charts: 2,
        },
    );
    import_rate(&full, &dir);

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut server = Server::start(&minimal, 18_801);
        let http = server.client();
        let base = server.base.clone();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let prefixes = [
            "smi", "gar", "joh", "nguy", "mül", "nunez", "kow", "pat", "ander", "o'b", "lee", "wil",
        ];
        let name_urls: Vec<String> = (0..requests)
            .map(|i| {
                format!(
                    "{base}/Patient?name={}&_count=20",
                    prefixes[i % prefixes.len()]
                )
            })
            .collect();
        report(
            "Patient?name=<prefix>&_count=20 (1M patients)",
            &timed(&http, &name_urls).await,
        );
        let mrn_urls: Vec<String> = (0..requests)
            .map(|_| {
                format!(
                    "{base}/Patient?identifier=http://hospital.example/mrn|{:07}&_count=20",
                    rng.random_range(1..=patients)
                )
            })
            .collect();
        report(
            "Patient?identifier=system|MRN (1M patients)",
            &timed(&http, &mrn_urls).await,
        );
        let ids = patient_ids(&http, &base, requests, patients).await;
        let read_urls: Vec<String> = ids
            .iter()
            .map(|id| format!("{base}/Patient/{id}"))
            .collect();
        report(
            "Patient/{id} read (1M patients)",
            &timed(&http, &read_urls).await,
        );
        server.memory(&format!("server on {patients} patients"));
        server.stop();

        let mut server = Server::start(&full, 18_802);
        let base = server.base.clone();
        let large = large_chart(&http, &base).await;
        let total = chart_size(&http, &base, &large).await;
        let first_page = vec![format!("{base}/Patient/{large}/$everything?_count=5000"); 40];
        report(
            &format!("$everything, first 5000 of a {total}-resource chart"),
            &timed(&http, &first_page).await,
        );
        let mut whole = Vec::new();
        for _ in 0..10 {
            whole.push(whole_chart(&http, &base, &large).await);
        }
        report(
            &format!("$everything, all {total} resources in pages of 5000"),
            &whole,
        );
        let obs_urls: Vec<String> = (0..requests)
            .map(|_| format!("{base}/Observation?patient={large}&_sort=-date&_count=20"))
            .collect();
        report(
            "Observation?patient=<large chart>&_sort=-date&_count=20",
            &timed(&http, &obs_urls).await,
        );
        server.memory(&format!("server on {charts} full charts"));
        server.stop();
    });
}

fn ensure_seeded(path: &Path, opts: SeedOptions) {
    if path.exists() {
        return;
    }
    let tmp = path.with_extension("partial");
    let _ = std::fs::remove_file(&tmp);
    let store = Store::open(&tmp).unwrap();
    let started = Instant::now();
    let s = seed(&store, &opts, |_| {}).unwrap();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seed {:?} {} patients: {} resources in {secs:.1} s = {:.0} resources/s",
        opts.depth,
        s.patients,
        s.resources,
        s.resources as f64 / secs
    );
    drop(store);
    std::fs::rename(&tmp, path).unwrap();
    let _ = std::fs::remove_file(tmp.with_extension("partial-wal"));
    let _ = std::fs::remove_file(tmp.with_extension("partial-shm"));
}

/// Exports 100,000 resources of the full database as NDJSON and times importing them.
fn import_rate(full: &Path, dir: &Path) {
    let ndjson = dir.join("export.ndjson");
    if !ndjson.exists() {
        let conn = rusqlite::Connection::open(full).unwrap();
        let mut stmt = conn
            .prepare("SELECT v.json FROM resource r JOIN version v ON v.rid = r.rid AND v.version = r.version LIMIT 100000")
            .unwrap();
        let lines: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        std::fs::write(&ndjson, lines.join("\n")).unwrap();
    }
    let target = dir.join("import-target.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
    }
    let store = Store::open(&target).unwrap();
    let started = Instant::now();
    let s = bedside::import::import_files(&store, &[ndjson], |_| {});
    let secs = started.elapsed().as_secs_f64();
    println!(
        "import NDJSON: {} resources in {secs:.1} s = {:.0} resources/s ({} rejected)",
        s.imported,
        s.imported as f64 / secs,
        s.rejected
    );
}

struct Server {
    child: Child,
    base: String,
    token: String,
}

impl Server {
    /// A client that signs every request with the bench user's token.
    fn client(&self) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        let value = format!("Bearer {}", self.token);
        headers.insert(
            reqwest::header::AUTHORIZATION,
            reqwest::header::HeaderValue::from_str(&value).unwrap(),
        );
        reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap()
    }

    fn start(db: &Path, port: u16) -> Server {
        let auth = bedside::auth::Auth::new(Store::open(db).unwrap());
        let _ = auth.add_user(
            "bench",
            "Bench",
            bedside::auth::Role::Physician,
            "bench-password",
        );
        let token = auth.issue_for("bench").unwrap().token;
        let child = Command::new(env!("CARGO_BIN_EXE_bedside"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db"])
            .arg(db)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}/fhir");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Server { child, base, token }
    }

    fn memory(&self, label: &str) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .unwrap_or("")
                .to_string()
        };
        println!("{label}: {} | {}", field("VmRSS"), field("VmHWM"));
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

async fn timed(http: &reqwest::Client, urls: &[String]) -> Vec<Duration> {
    // Warm up the connection and caches, then time each request.
    for url in urls.iter().take(20) {
        let _ = http.get(url).send().await.unwrap().bytes().await;
    }
    let mut out = Vec::with_capacity(urls.len());
    for url in urls {
        let t = Instant::now();
        let r = http.get(url).send().await.unwrap();
        assert!(r.status().is_success(), "{url}: {}", r.status());
        let _ = r.bytes().await.unwrap();
        out.push(t.elapsed());
    }
    out
}

fn report(label: &str, times: &[Duration]) {
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{label}: n={} p50={:.2} ms p95={:.2} ms p99={:.2} ms",
        ms.len(),
        p(0.5),
        p(0.95),
        p(0.99)
    );
}

async fn patient_ids(http: &reqwest::Client, base: &str, n: usize, patients: u64) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    while ids.len() < n {
        let url = format!(
            "{base}/Patient?_count=50&_total=none&_offset={}",
            rng.random_range(0..patients.saturating_sub(50).max(1))
        );
        let v: serde_json::Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        let Some(entries) = v["entry"].as_array() else {
            break;
        };
        ids.extend(
            entries
                .iter()
                .filter_map(|e| e["resource"]["id"].as_str().map(str::to_string)),
        );
    }
    ids.truncate(n);
    ids
}

async fn large_chart(http: &reqwest::Client, base: &str) -> String {
    // The first seeded patients have the large charts.
    let v: serde_json::Value = http
        .get(format!("{base}/Patient?_count=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn chart_size(http: &reqwest::Client, base: &str, id: &str) -> i64 {
    let url = format!("{base}/Patient/{id}/$everything?_count=1");
    let v: serde_json::Value = http.get(url).send().await.unwrap().json().await.unwrap();
    v["total"].as_i64().unwrap_or(0)
}

/// Follows `next` links through the whole chart. Only the small `link` part of each page is
/// parsed, so the client's JSON work is not counted against the server.
async fn whole_chart(http: &reqwest::Client, base: &str, id: &str) -> Duration {
    let t = Instant::now();
    let mut url = Some(format!("{base}/Patient/{id}/$everything?_count=5000"));
    while let Some(u) = url.take() {
        let bytes = http.get(&u).send().await.unwrap().bytes().await.unwrap();
        let text = String::from_utf8_lossy(&bytes);
        // The links come before the entries; cut there instead of parsing 5 MB.
        let head = &text[..text.find("\"entry\"").unwrap_or(text.len())];
        url = head
            .split("\"relation\":\"next\",\"url\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .map(str::to_string);
    }
    t.elapsed()
}
