//! Load bench: ward terminals over real HTTP against `bedside serve` in its own process.
//!
//!   cargo bench --bench load -- --terminals 50 --writers 5 --seconds 30 [--warmup 3]
//!   cargo bench --bench load -- --terminals 200 --writers 5 --seconds 30 --slow-write 12
//!   cargo bench --bench load -- --census 1 --terminals 50 --seconds 30
//!
//! Each terminal loops without pause: a name search, a patient read, the patient's allergy
//! search and the first page of their `$everything`, each on its own kept-alive connection.
//! Each writer loops creating vital signs. Afterwards (`--slow-write S`, 0 to skip) another
//! connection holds the database's write lock for S seconds, as a long import or transaction
//! would, while a probe times reads. Prints throughput, p50/p95/p99 per request kind, errors,
//! and the server's peak RSS and thread count. The seeded database (2,000 charts) is kept in
//! target/bench/ between runs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bedside::server::seed::{Depth, SeedOptions, seed};
use bedside::server::store::Store;
use bytes::Bytes;
use http_body_util::Full;
use rand::{Rng, SeedableRng};

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

const KINDS: [&str; 5] = [
    "name search",
    "patient read",
    "allergies",
    "$everything",
    "write",
];

#[derive(Default)]
struct Tally {
    /// Latency in µs per kind.
    samples: [Vec<u32>; 5],
    errors: [u64; 5],
    first_errors: Vec<String>,
}

impl Tally {
    fn add(&mut self, kind: usize, elapsed: Duration, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => self.samples[kind].push(elapsed.as_micros().min(u32::MAX as u128) as u32),
            Err(e) => {
                self.errors[kind] += 1;
                if self.first_errors.len() < 5 {
                    self.first_errors.push(format!("{}: {e}", KINDS[kind]));
                }
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        for (mine, theirs) in self.samples.iter_mut().zip(other.samples) {
            mine.extend(theirs);
        }
        for (mine, theirs) in self.errors.iter_mut().zip(other.errors) {
            *mine += theirs;
        }
        for e in other.first_errors {
            if self.first_errors.len() < 5 {
                self.first_errors.push(e);
            }
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)] as f64 / 1000.0
}

fn main() {
    let terminals = arg("--terminals", 50) as usize;
    let writers = arg("--writers", 5) as usize;
    let seconds = arg("--seconds", 30);
    let slow_write = arg("--slow-write", 12);
    // Untimed first seconds: every terminal's connection, first request and the server's
    // caches are made before anything counts.
    let warmup = arg("--warmup", 3);
    let charts = arg("--charts", 2_000);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let seeded = dir.join(format!("load-{charts}.db"));
    ensure_seeded(&seeded, charts);
    // Each run starts from the same data: a copy of the seeded database.
    let db = dir.join("load-run.db");
    for file in [db.clone(), bedside::server::store::trail_path(&db)] {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = file.as_os_str().to_owned();
            name.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(name));
        }
    }
    std::fs::copy(&seeded, &db).unwrap();
    // On disk before the server starts: otherwise the kernel writes the copy back some 30 s
    // later, in the middle of the run, and every commit's fsync waits behind it.
    std::fs::File::open(&db).unwrap().sync_all().unwrap();

    let (patients, families, tokens) = prepare(&db, terminals + writers + 1);
    let mut server = Server::start(&db);
    if arg("--census", 0) == 1 {
        census_load(&server, &tokens[..terminals], seconds, warmup);
        server.stop();
        return;
    }
    println!(
        "load: {terminals} terminals + {writers} writers for {seconds} s (after {warmup} s untimed) against {} ({} charts)",
        server.base,
        patients.len()
    );
    let patients = Arc::new(patients);
    let families = Arc::new(families);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let measuring = Arc::new(AtomicBool::new(false));
        let peak_rss = Arc::new(AtomicU64::new(0));
        let peak_threads = Arc::new(AtomicU64::new(0));
        let sampler = {
            let (stop, rss, threads, pid) = (
                stop.clone(),
                peak_rss.clone(),
                peak_threads.clone(),
                server.child.id(),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let (r, t) = process_status(pid);
                    rss.fetch_max(r, Ordering::Relaxed);
                    threads.fetch_max(t, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
        };
        let mut tasks = Vec::new();
        for (t, token) in tokens.iter().enumerate().take(terminals) {
            let http = Http::new(&server.base, token);
            let (base, patients, families, run) = (
                server.base.clone(),
                patients.clone(),
                families.clone(),
                Run {
                    stop: stop.clone(),
                    measuring: measuring.clone(),
                },
            );
            tasks.push(tokio::spawn(async move {
                terminal(t as u64, http, base, patients, families, run).await
            }));
        }
        for w in 0..writers {
            let http = Http::new(&server.base, &tokens[terminals + w]);
            let run = Run {
                stop: stop.clone(),
                measuring: measuring.clone(),
            };
            let (base, patients) = (server.base.clone(), patients.clone());
            tasks.push(tokio::spawn(async move {
                writer(w as u64, http, base, patients, run).await
            }));
        }
        tokio::time::sleep(Duration::from_secs(warmup)).await;
        measuring.store(true, Ordering::Relaxed);
        let started = Instant::now();
        let cpu_before = process_cpu(server.child.id());
        let client_before = process_cpu(std::process::id());
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let cpu = process_cpu(server.child.id()) - cpu_before;
        let client_cpu = process_cpu(std::process::id()) - client_before;
        stop.store(true, Ordering::Relaxed);
        let mut tally = Tally::default();
        for task in tasks {
            tally.merge(task.await.unwrap());
        }
        let elapsed = started.elapsed().as_secs_f64();
        let _ = sampler.await;
        report(&tally, elapsed);
        // CPU per request is steadier than throughput on a shared machine: it does not move
        // with how much of the CPU the machine gave the server this minute.
        let answered: usize = tally.samples.iter().map(Vec::len).sum();
        println!(
            "server CPU: {:.1} s in the timed window, {:.0} µs per request",
            cpu,
            cpu * 1e6 / answered.max(1) as f64
        );
        // The client shares the machine: what it takes, the server does not get.
        println!(
            "client CPU: {:.1} s in the timed window, {:.0} µs per request",
            client_cpu,
            client_cpu * 1e6 / answered.max(1) as f64
        );
        println!(
            "server: peak RSS {:.0} MB, peak threads {}",
            peak_rss.load(Ordering::Relaxed) as f64 / 1024.0,
            peak_threads.load(Ordering::Relaxed)
        );
        if slow_write > 0 {
            slow_write_probe(
                &db,
                &server.base,
                &tokens[terminals + writers],
                &patients,
                slow_write,
            )
            .await;
        }
    });
    server.stop();
    // The server's last words (its audit trail's commits) arrive on its log.
    std::thread::sleep(Duration::from_millis(300));
}

fn report(tally: &Tally, elapsed: f64) {
    let total: usize = tally.samples.iter().map(Vec::len).sum();
    let errors: u64 = tally.errors.iter().sum();
    println!(
        "throughput: {:.0} requests/s ({total} answered in {elapsed:.1} s), {errors} errors",
        total as f64 / elapsed
    );
    println!(
        "{:<14} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "kind", "count", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    let mut all: Vec<u32> = Vec::new();
    for (kind, samples) in tally.samples.iter().enumerate() {
        let mut sorted = samples.clone();
        sorted.sort_unstable();
        all.extend(&sorted);
        println!(
            "{:<14} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2}   errors {}",
            KINDS[kind],
            sorted.len(),
            percentile(&sorted, 50.0),
            percentile(&sorted, 95.0),
            percentile(&sorted, 99.0),
            sorted.last().map_or(f64::NAN, |m| *m as f64 / 1000.0),
            tally.errors[kind]
        );
    }
    all.sort_unstable();
    println!(
        "{:<14} {:>8} {:>9.2} {:>9.2} {:>9.2}",
        "all",
        all.len(),
        percentile(&all, 50.0),
        percentile(&all, 95.0),
        percentile(&all, 99.0)
    );
    for e in &tally.first_errors {
        println!("  error: {e}");
    }
}

async fn get(http: &mut Http, url: &str) -> Result<(), String> {
    let (status, body) = http.send(hyper::Method::GET, url, None).await?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ))
    }
}

/// One kept-alive HTTP/1.1 connection, as a ward terminal holds: hyper's client connection,
/// with no pool or redirects to look after. (reqwest took 80 µs of CPU per request, which on
/// a shared machine the server does not get.) Reconnects after an error.
struct Http {
    authority: String,
    bearer: hyper::header::HeaderValue,
    sender: Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>>,
}

impl Http {
    fn new(base: &str, token: &str) -> Http {
        let authority = base
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        Http {
            authority,
            bearer: hyper::header::HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            sender: None,
        }
    }

    async fn send(
        &mut self,
        method: hyper::Method,
        url: &str,
        body: Option<String>,
    ) -> Result<(hyper::StatusCode, Bytes), String> {
        let answer =
            tokio::time::timeout(Duration::from_secs(60), self.exchange(method, url, body))
                .await
                .unwrap_or_else(|_| Err("no answer in 60 s".to_string()));
        if answer.is_err() {
            self.sender = None;
        }
        answer
    }

    async fn exchange(
        &mut self,
        method: hyper::Method,
        url: &str,
        body: Option<String>,
    ) -> Result<(hyper::StatusCode, Bytes), String> {
        use http_body_util::BodyExt;
        if self.sender.is_none() {
            let stream = tokio::net::TcpStream::connect(&self.authority)
                .await
                .map_err(|e| e.to_string())?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            let (sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            self.sender = Some(sender);
        }
        let Some(sender) = self.sender.as_mut() else {
            return Err("not connected".to_string());
        };
        // The path (origin form) after the scheme and authority.
        let path = &url[url
            .find(&self.authority)
            .map_or(0, |i| i + self.authority.len())..];
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::AUTHORIZATION, self.bearer.clone());
        if body.is_some() {
            request = request.header(hyper::header::CONTENT_TYPE, "application/fhir+json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| e.to_string())?;
        sender.ready().await.map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body))
    }
}

async fn terminal(
    n: u64,
    mut http: Http,
    base: String,
    patients: Arc<Vec<String>>,
    families: Arc<Vec<String>>,
    run: Run,
) -> Tally {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(n);
    let mut tally = Tally::default();
    while !run.stop.load(Ordering::Relaxed) {
        let family = &families[rng.random_range(0..families.len())];
        let prefix: String = family.chars().take(3).collect();
        // Names with accents are sent percent-encoded, as a browser or reqwest would.
        let prefix =
            percent_encoding::utf8_percent_encode(&prefix, percent_encoding::NON_ALPHANUMERIC);
        let id = &patients[rng.random_range(0..patients.len())];
        let urls = [
            format!("{base}/Patient?name={prefix}&_count=20"),
            format!("{base}/Patient/{id}"),
            format!("{base}/AllergyIntolerance?patient=Patient/{id}"),
            format!("{base}/Patient/{id}/$everything?_count=50"),
        ];
        for (kind, url) in urls.iter().enumerate() {
            let t = Instant::now();
            let outcome = get(&mut http, url).await;
            if run.measuring.load(Ordering::Relaxed) {
                tally.add(kind, t.elapsed(), outcome);
            }
        }
    }
    tally
}

/// The census's searches for one ward, as the workstation makes them (`runtime/census.rs`):
/// the stays with their patients, locations and practitioners, then one search per column for
/// all the ward's patients. Returns whether every answer was a success.
async fn census_once(http: &mut Http, base: &str, ward: &str) -> Result<(), String> {
    let url = format!(
        "{base}/Encounter?location=Location/{ward}&status=arrived,triaged,in-progress,onleave&_include=Encounter:subject&_include=Encounter:location&_include=Encounter:participant&_count=500"
    );
    let (status, body) = http.send(hyper::Method::GET, &url, None).await?;
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    let bundle: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let mut ids: Vec<&str> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["resource"]["resourceType"] == "Encounter")
        .filter_map(|e| e["resource"]["subject"]["reference"].as_str())
        .filter_map(|r| r.strip_prefix("Patient/"))
        .collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    let ids = ids.join(",");
    let since = (chrono::Utc::now() - chrono::Duration::days(14)).format("%Y-%m-%d");
    for url in [
        format!("{base}/AllergyIntolerance?patient={ids}&_count=500"),
        format!(
            "{base}/Observation?patient={ids}&code=http://snomed.info/sct|1104051000000101&date=ge{since}&_count=500"
        ),
        format!(
            "{base}/Task?patient={ids}&code=urn:bedside:task|review-result&status=requested,received,accepted,ready,in-progress&_count=500"
        ),
        format!("{base}/DocumentReference?patient={ids}&_count=500"),
        format!("{base}/MedicationRequest?patient={ids}&status=draft&_count=500"),
    ] {
        get(http, &url).await?;
    }
    Ok(())
}

/// Terminals each showing a ward's census, asking for it again as soon as it arrives (the
/// workstation asks once a minute): the server's CPU per census, and what 50 terminals
/// polling every minute cost.
fn census_load(server: &Server, tokens: &[String], seconds: u64, warmup: u64) {
    let wards: Vec<String> = bedside::server::seed::WARDS
        .iter()
        .map(|(code, _, _)| format!("ward-{code}"))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let measuring = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for (t, token) in tokens.iter().enumerate() {
            let mut http = Http::new(&server.base, token);
            let base = server.base.clone();
            let ward = wards[t % wards.len()].clone();
            let (stop, measuring) = (stop.clone(), measuring.clone());
            tasks.push(tokio::spawn(async move {
                let mut times = Vec::new();
                let mut errors = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let outcome = census_once(&mut http, &base, &ward).await;
                    if measuring.load(Ordering::Relaxed) {
                        match outcome {
                            Ok(()) => times.push(started.elapsed()),
                            Err(_) => errors += 1,
                        }
                    }
                }
                (times, errors)
            }));
        }
        tokio::time::sleep(Duration::from_secs(warmup)).await;
        measuring.store(true, Ordering::Relaxed);
        let cpu_before = process_cpu(server.child.id());
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let cpu = process_cpu(server.child.id()) - cpu_before;
        let elapsed = started.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let mut times = Vec::new();
        let mut errors = 0;
        for task in tasks {
            let (t, e) = task.await.unwrap();
            times.extend(t);
            errors += e;
        }
        times.sort();
        let ms = |p: f64| {
            times
                .get(((times.len() as f64 * p) as usize).min(times.len().saturating_sub(1)))
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        let per = cpu / times.len().max(1) as f64;
        println!(
            "census: {} terminals, {} censuses in {elapsed:.1} s ({:.1}/s), {errors} errors; p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
            tokens.len(),
            times.len(),
            times.len() as f64 / elapsed,
            ms(0.5),
            ms(0.95),
            ms(0.99)
        );
        println!(
            "census: server CPU {:.1} ms per census (6 searches); 50 terminals asking once a minute: {:.2} censuses/s, {:.1}% of one core",
            per * 1000.0,
            50.0 / 60.0,
            per * 50.0 / 60.0 * 100.0
        );
    });
}

/// When a simulated user stops, and whether what it does counts yet.
struct Run {
    stop: Arc<AtomicBool>,
    measuring: Arc<AtomicBool>,
}

async fn writer(
    n: u64,
    mut http: Http,
    base: String,
    patients: Arc<Vec<String>>,
    run: Run,
) -> Tally {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1_000 + n);
    let mut tally = Tally::default();
    while !run.stop.load(Ordering::Relaxed) {
        let id = &patients[rng.random_range(0..patients.len())];
        let t = Instant::now();
        let outcome = post_vital(&mut http, &base, id, rng.random_range(50..120)).await;
        if run.measuring.load(Ordering::Relaxed) {
            tally.add(4, t.elapsed(), outcome);
        }
    }
    tally
}

async fn post_vital(http: &mut Http, base: &str, patient: &str, value: i64) -> Result<(), String> {
    let body = serde_json::json!({"resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": chrono::Utc::now().to_rfc3339(),
        "valueQuantity": {"value": value, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}});
    let (status, _) = http
        .send(
            hyper::Method::POST,
            &format!("{base}/Observation"),
            Some(body.to_string()),
        )
        .await?;
    if status == hyper::StatusCode::CREATED {
        Ok(())
    } else {
        Err(format!("HTTP {status}"))
    }
}

/// Another connection holds the write lock for `seconds` (a long import or transaction);
/// a probe times a read, a search and `$everything` meanwhile, and one write waits.
async fn slow_write_probe(db: &Path, base: &str, token: &str, patients: &[String], seconds: u64) {
    let db = db.to_path_buf();
    let (locked, is_locked) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let mut conn = rusqlite::Connection::open(&db).unwrap();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        tx.execute(
            "INSERT OR REPLACE INTO store_info (key, value) VALUES ('bench-long-write', '1')",
            [],
        )
        .unwrap();
        locked.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(seconds));
        tx.rollback().unwrap();
    });
    is_locked.recv().unwrap();
    let held = Instant::now();
    let mut http = Http::new(base, token);
    let write = {
        let (mut http, base, id) = (
            Http::new(base, token),
            base.to_string(),
            patients[0].clone(),
        );
        tokio::spawn(async move {
            let t = Instant::now();
            let outcome = post_vital(&mut http, &base, &id, 80).await;
            (t.elapsed(), outcome)
        })
    };
    let mut tally = Tally::default();
    let mut n = 0;
    while held.elapsed() < Duration::from_secs(seconds.saturating_sub(1).max(1)) {
        let id = &patients[n % patients.len()];
        n += 1;
        let urls = [
            format!("{base}/Patient?name=smi&_count=20"),
            format!("{base}/Patient/{id}"),
            format!("{base}/AllergyIntolerance?patient=Patient/{id}"),
            format!("{base}/Patient/{id}/$everything?_count=50"),
        ];
        for (kind, url) in urls.iter().enumerate() {
            let t = Instant::now();
            let outcome = get(&mut http, url).await;
            tally.add(kind, t.elapsed(), outcome);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("\nwhile another connection held the write lock for {seconds} s:");
    for (kind, samples) in tally.samples.iter().enumerate().take(4) {
        let mut sorted = samples.clone();
        sorted.sort_unstable();
        println!(
            "  {:<14} {:>5} reads  p50 {:>6.2} ms  max {:>7.2} ms  errors {}",
            KINDS[kind],
            sorted.len(),
            percentile(&sorted, 50.0),
            sorted.last().map_or(f64::NAN, |m| *m as f64 / 1000.0),
            tally.errors[kind]
        );
    }
    holder.join().unwrap();
    let (waited, outcome) = write.await.unwrap();
    println!(
        "  a write sent meanwhile: {} after {:.1} s",
        match outcome {
            Ok(()) => "stored".to_string(),
            Err(e) => format!("refused ({e})"),
        },
        waited.as_secs_f64()
    );
}

/// Patient ids, family names, and one token per simulated terminal.
fn prepare(db: &Path, tokens: usize) -> (Vec<String>, Vec<String>, Vec<String>) {
    let store = Store::open(db).unwrap();
    let auth = bedside::server::auth::Auth::new(store.clone());
    let _ = auth.add_user(
        "load",
        "Load Bench",
        bedside::server::auth::Role::Physician,
        "load-bench-password",
    );
    let tokens = (0..tokens)
        .map(|_| auth.issue_for("load").unwrap().token)
        .collect();
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut patients: Vec<String> = Vec::new();
    let mut families: Vec<String> = Vec::new();
    let mut stmt = conn
        .prepare(
            "SELECT r.id, v.json FROM resource r JOIN version v ON v.rid = r.rid AND v.version = r.version
             WHERE r.type = 'Patient' AND r.deleted = 0",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap();
    for row in rows {
        let (id, json) = row.unwrap();
        let patient: serde_json::Value = serde_json::from_str(&json).unwrap();
        if bedside::server::auth::policy::is_restricted(&patient) {
            continue;
        }
        if let Some(family) = patient["name"][0]["family"].as_str() {
            families.push(family.to_lowercase());
        }
        patients.push(id);
    }
    (patients, families, tokens)
}

/// The CPU time (user + system, seconds) process `pid` has used so far.
fn process_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces, so split after its ')'): utime
    // and stime are the 12th and 13th, in clock ticks of 1/100 s on Linux.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// (VmRSS in KiB, thread count) of a process.
fn process_status(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("Threads:"))
}

fn ensure_seeded(path: &Path, charts: u64) {
    if path.exists() {
        return;
    }
    let tmp = path.with_extension("partial");
    let _ = std::fs::remove_file(&tmp);
    let store = Store::open(&tmp).unwrap();
    let started = Instant::now();
    let opts = SeedOptions {
        patients: charts,
        seed: 3,
        anchor: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        depth: Depth::Full,
        large_charts: 0,
    };
    let s = seed(&store, &opts, |_| {}).unwrap();
    store.optimize().unwrap();
    println!(
        "seeded {} charts: {} resources in {:.1} s",
        s.patients,
        s.resources,
        started.elapsed().as_secs_f64()
    );
    drop(store);
    std::fs::rename(&tmp, path).unwrap();
    let _ = std::fs::remove_file(bedside::server::store::trail_path(&tmp));
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(db: &Path) -> Server {
        use std::io::BufRead;
        // LOAD_SERVER_BIN: another build of bedside to measure (the previous main, say).
        let binary =
            std::env::var("LOAD_SERVER_BIN").unwrap_or(env!("CARGO_BIN_EXE_bedside").to_string());
        let mut child = Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            // LOAD_SERVER_ARGS: more flags for the server, e.g. "--workers 16".
            .args(
                std::env::var("LOAD_SERVER_ARGS")
                    .unwrap_or_default()
                    .split_whitespace(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = std::io::BufReader::new(stderr).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the server stopped before announcing its address")
                .unwrap();
            if let Some(at) = line.find("server at ") {
                break line[at + "server at ".len()..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_string();
            }
        };
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                for what in ["audit trail:", "resource writes:"] {
                    if let Some(said) = line.split(what).nth(1) {
                        println!("server: {what}{said}");
                    }
                }
            }
        });
        Server { child, base }
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
