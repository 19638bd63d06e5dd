//! Backend benchmark (a bench binary, not criterion): seeds the databases the issue names,
//! runs the real `bedside serve` as a child process, and reports latency percentiles, seed
//! and import rates, and the server's memory.
//!
//!   cargo bench --bench backend -- [--patients 1000000] [--charts 10000] [--requests 500]
//!   BENCH_ONLY=flood cargo bench --bench backend   # issue 14's floods: time and memory each
//!   BENCH_ONLY=import cargo bench --bench backend -- ...  # database sizes and import rates only
//!   BENCH_ONLY=support cargo bench --bench backend   # issue 22: as-of, history diff, merge
//!   BENCH_ONLY=dedupe cargo bench --bench backend -- [--dedupe-people 1000000]  # duplicates
//!   cargo bench --bench backend -- --encrypted ...   # the same with encryption at rest on
//!
//! Databases are cached in target/bench/ between runs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bedside::server::seed::{Depth, SeedOptions, seed};
use bedside::server::store::{DbKey, Store};
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

/// With `--encrypted`: every database under this fixed key (a bench key, not a secret), so
/// the cached encrypted databases open on the next run.
fn bench_key() -> Option<DbKey> {
    std::env::args()
        .any(|a| a == "--encrypted")
        .then(|| DbKey::from_hex(&"5a".repeat(32)).unwrap())
}

fn open(path: &Path) -> Store {
    Store::open_keyed(path, bedside::server::store::DEFAULT_READERS, bench_key()).unwrap()
}

/// The encrypted twin of a cached plain database: a copy rewritten under the bench key.
fn encrypted_copy(plain: &Path) -> PathBuf {
    let Some(key) = bench_key() else {
        return plain.to_path_buf();
    };
    let enc = plain.with_extension("enc.db");
    if !enc.exists() {
        let tmp = plain.with_extension("enc-partial.db");
        std::fs::copy(plain, &tmp).unwrap();
        let started = Instant::now();
        bedside::server::store::key::rekey(&tmp, None, Some(&key)).unwrap();
        println!(
            "encrypted a copy of {} in {:.1} s",
            plain.display(),
            started.elapsed().as_secs_f64()
        );
        std::fs::rename(&tmp, &enc).unwrap();
        let _ = std::fs::remove_file(bedside::server::store::trail_path(&tmp));
    }
    enc
}

fn main() {
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "flood") {
        flood();
        return;
    }
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "support") {
        support_desk();
        return;
    }
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "dedupe") {
        dedupe(arg("--dedupe-people", 1_000_000) as usize);
        return;
    }
    jwt_cost();
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "jwt") {
        return;
    }
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
    if bench_key().is_some() {
        println!("encryption at rest: on (SQLCipher, AES-256, HMAC-SHA512 per 8 KiB page)");
    }
    let minimal = encrypted_copy(&minimal);
    let full = encrypted_copy(&full);
    database_size(&minimal);
    database_size(&full);
    import_rate(&full, &dir);
    examples_import_rate(&dir);
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "import") {
        return;
    }

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
        // This database has its own users: a token for it.
        let http = server.client();
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

/// A throwaway RSA key (RSAPrivateKey DER, 2048 bits) made for this benchmark with `openssl genpkey`:
/// it signs the tokens whose checking is timed. It protects nothing.
const BENCH_RSA_KEY: &str = "MIIEowIBAAKCAQEA3Bem6PqhG+tIGw0lyvbTeyC09C4lFfdUgReFX1F69AoWHwQiLPkSMcqy1OLjdR4o8M1L0NMEguFRcDkJpvm+48bQJgWBG7+OAlV9s0G+msRw6y2xZZdEn6rB6Esd90bI10VQdX9oGZbPp14zZaawPDsMXC6HpCLJt3VK6tU7J+3EYb+3cJUlblbJ6OoUdIVmnFFeZI9740Z5w1M5IqOPmVnjPkhvm9EjCFKAZWbolYDvu/7LE96u/Eqg0OD4mBQjx4EyR2VU2NAlansenMnwGvj6uHV+QzYMNxwt4+eQMHt8FgS87JAMwdZjRXUcfC3y9DXzeYotiWwTUw4GHdJ1eQIDAQABAoIBAA4lS6+BXaB8lJ5Uen+F3LLMYoT9Ku9d/aWXEZXo7T+edFcwU1Ko/CqMw3CxAnsxDI2UNvwSy/aY17ygQIa7BNyr7GM9NalHEbAEYaIHUY0DSi9QuQGgDCOSUd3bEhp7XLDlU2tchyAklBpxkK5xsmBfT9yO4F3uycs2STHjBuclH6l9/aOekFt86q4sWtrS+JlyRo+WdHCOqihHJRZTdsDJiKv/5E3YMD+QmxEHFEpj5AEvoXBy7urY/PJRpTMH5Y2J6dW2k4MDNYIrc6cc83VAyIrOv/+gPMoI2Q69tcYVGmZB1CxOWxiNanNk0osa9T6XAlxkzQx6BV1XIic119kCgYEA9KbXwjE9orMEVP4bQ6L0RlITRniOM3yl5qsnd/jP27fMPae//wO66jenbP0QTzjOY2dmAvBXliHl4MTd+IxhEo3CYMtPkoIjFKsjOHGKhmA/INI7/NCWaCzMMmMeQYfDuMhCxCAgoYGnQIcl892nF5orXw2LMXTmUatB7yWtdaUCgYEA5k0s3tB0BrwYdKssRIk2kF3XI041XdBNARUx3FJxVNT3HdJiNpv3gQWxwNMfoLfHrzi2ZxL76tQO7R/RuDe3SUFQZ9E/h3ioJsF+Qn6OPE6UgaWFRm5tAlamN+thw4Y26HeB3gIehYBkwrAXWXzgewx5ro/DYHINkiBtn5qewEUCgYAPma/6Zw9qF4Y4MTfl2TdAYK1v+fH/YHxnuBQ9NzVx6kdwywiYJ1G8662WapCmrJWkiwxbNZ4wKZsx+Pu6hKEQANAbQfuh+QBpqfwF9l+B8BM2cZF3rolYvTqMH/vm69RULRjszqumANF8cOG/qiukeqU3W3K7xZuGK6h5qmpkLQKBgQCiq3J9M7owo52Wku2iv1S2JkJ24qAZUq+Bi0n7uJPqer7N5rOOpR3umWoTrEyTxhwarTFRnvwnw3+DiE0nFNu2t5amrgt0kgobzeJz71ZiTJLi/FomBIuk8jVYHD+izuNr0jX97XtHiwgg6CamA+m/oHE2lr9HGWhyhctIx/tIDQKBgFID4qttNLlDFKg59F7gWmNgsA8bXJ1TWhBFvCCjqqPVVx09J3OM717mUDbmIOpPZqnluy6/g+BLOIrr0qjD098Z7aJ5zY/aWAz5jpEARfZWa7HCPM4khSj6U1hU2LyaKZ6TcuZ5XzSijwrV+YmXqIKTSfs53gyIX/8JRMzyjG9V";

/// What checking an identity provider's access token costs the server (`serve --oidc-issuer`):
/// the signature of a token not seen before (RS256 and ES256), and a token seen before (its
/// hash looked up). Keys as if fetched from the provider; no network.
/// The duplicate finder on a labelled synthetic population of `people` (and 5 % of them
/// duplicated): blocking, pairs compared, time on the machine's cores, precision and recall
/// at the default thresholds.
fn dedupe(people: usize) {
    use bedside::server::dedupe::{Thresholds, blocking, synthetic};
    let started = Instant::now();
    let l = synthetic::population(people, people / 20, 11);
    println!(
        "dedupe: {} records ({} true pairs) generated in {:.1} s",
        l.people.len(),
        l.truth.len(),
        started.elapsed().as_secs_f64()
    );
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    let pairs = blocking::pairs(&l.people);
    let blocked = started.elapsed();
    let started = Instant::now();
    let acc = synthetic::measure(&l, Thresholds::default(), threads);
    let total = started.elapsed();
    println!(
        "dedupe: {} candidate pairs from blocking in {:.1} s; whole scan (blocking + scoring) {:.1} s on {threads} threads",
        pairs.len(),
        blocked.as_secs_f64(),
        total.as_secs_f64()
    );
    println!(
        "dedupe: sure {} ({} true), review {} ({} true); precision {:.4}, recall {:.4} (with review {:.4})",
        acc.sure,
        acc.sure_true,
        acc.review,
        acc.review_true,
        acc.precision,
        acc.recall,
        acc.recall_with_review
    );
    // Precision and recall at other sure thresholds, from one scan.
    let all = bedside::server::dedupe::find(
        &l.people,
        Thresholds {
            sure: f64::INFINITY,
            review: Thresholds::default().review,
        },
        threads,
    );
    for sure in [16.0, 18.0, 20.0, 21.0, 22.0, 24.0] {
        let above: Vec<_> = all.iter().filter(|c| c.comparison.score >= sure).collect();
        let hits = above
            .iter()
            .filter(|c| l.truth.contains(&(c.a.min(c.b), c.a.max(c.b))))
            .count();
        println!(
            "dedupe: sure at {sure:>4}: {} pairs, precision {:.4}, recall {:.4}",
            above.len(),
            hits as f64 / above.len().max(1) as f64,
            hits as f64 / l.truth.len().max(1) as f64
        );
    }
    if std::env::var("DEDUPE_DIAGNOSE").is_ok() {
        // What the wrong sure pairs and the missed true ones look like, field by field.
        use std::collections::HashMap;
        let signature = |c: &bedside::server::dedupe::Comparison| {
            c.parts
                .iter()
                .map(|p| format!("{:?}:{:?}", p.field, p.level))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let sure = Thresholds::default().sure;
        let mut wrong: HashMap<String, (usize, f64)> = HashMap::new();
        for c in all.iter().filter(|c| c.comparison.score >= sure) {
            if !l.truth.contains(&(c.a.min(c.b), c.a.max(c.b))) {
                let e = wrong.entry(signature(&c.comparison)).or_default();
                e.0 += 1;
                e.1 = c.comparison.score;
            }
        }
        let freq = bedside::server::dedupe::Frequencies::of(&l.people);
        let mut missed: HashMap<String, (usize, f64)> = HashMap::new();
        for &(a, b) in &l.truth {
            let c = bedside::server::dedupe::compare_with(&l.people[a], &l.people[b], Some(&freq));
            if c.score < sure {
                let e = missed.entry(signature(&c)).or_default();
                e.0 += 1;
                e.1 = c.score;
            }
        }
        for (title, map) in [("wrong sure", wrong), ("missed", missed)] {
            let mut v: Vec<_> = map.into_iter().collect();
            v.sort_by_key(|x| std::cmp::Reverse(x.1.0));
            println!("dedupe: {title}: {} kinds", v.len());
            for (sig, (n, score)) in v.iter().take(12) {
                println!("  {n:>6}  {score:>5.1}  {sig}");
            }
        }
    }
}

fn jwt_cost() {
    use base64::Engine;
    use bedside::server::auth::oidc::{OidcSettings, Provider};
    use ring::signature::{self, KeyPair};
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let rng = ring::rand::SystemRandom::new();
    let rsa_der = base64::engine::general_purpose::STANDARD
        .decode(BENCH_RSA_KEY)
        .unwrap();
    let rsa = signature::RsaKeyPair::from_der(&rsa_der).unwrap();
    let ec_der =
        signature::EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
    let ec = signature::EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        ec_der.as_ref(),
        &rng,
    )
    .unwrap();
    let point = ec.public_key().as_ref();
    let rsa_public: ring::rsa::PublicKeyComponents<Vec<u8>> = rsa.public_key().into();
    let jwks = serde_json::json!({"keys": [
        {"kty": "RSA", "kid": "rsa", "alg": "RS256", "use": "sig",
         "n": b64(&rsa_public.n), "e": b64(&rsa_public.e)},
        {"kty": "EC", "kid": "ec", "alg": "ES256", "use": "sig", "crv": "P-256",
         "x": b64(&point[1..33]), "y": b64(&point[33..65])}
    ]});
    let issuer = "https://login.bench.example";
    let settings = OidcSettings::new(issuer, "https://bedside.bench/fhir").unwrap();
    let provider = Provider::with_keys(settings, &jwks).unwrap();
    let now = chrono::Utc::now().timestamp();
    let token = |alg: &str, i: usize| {
        let header = b64(format!(
            r#"{{"alg":"{alg}","kid":"{}","typ":"at+jwt"}}"#,
            if alg == "RS256" { "rsa" } else { "ec" }
        )
        .as_bytes());
        let claims = serde_json::json!({"iss": issuer, "aud": "https://bedside.bench/fhir",
            "sub": format!("user{i}"), "exp": now + 3600, "iat": now,
            "jti": format!("{i}"), "scope": "openid fhirUser user/*.cruds"});
        let body = b64(claims.to_string().as_bytes());
        let signed = format!("{header}.{body}");
        let signature = if alg == "RS256" {
            let mut sig = vec![0; rsa.public().modulus_len()];
            rsa.sign(
                &signature::RSA_PKCS1_SHA256,
                &rng,
                signed.as_bytes(),
                &mut sig,
            )
            .unwrap();
            sig
        } else {
            ec.sign(&rng, signed.as_bytes()).unwrap().as_ref().to_vec()
        };
        format!("{signed}.{}", b64(&signature))
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let n = 2_000;
    for alg in ["RS256", "ES256"] {
        let tokens: Vec<String> = (0..n).map(|i| token(alg, i)).collect();
        let started = Instant::now();
        for t in &tokens {
            rt.block_on(provider.verify(t)).unwrap();
        }
        let first = started.elapsed();
        let started = Instant::now();
        for t in &tokens {
            rt.block_on(provider.verify(t)).unwrap();
        }
        let again = started.elapsed();
        println!(
            "provider token check ({alg}): {:.1} us per new token (signature), {:.2} us per token seen before (n={n})",
            first.as_secs_f64() * 1e6 / n as f64,
            again.as_secs_f64() * 1e6 / n as f64
        );
    }
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
    let _ = std::fs::remove_file(bedside::server::store::trail_path(&tmp));
}

/// Exports 100,000 resources of the full database as NDJSON and times importing them.
fn import_rate(full: &Path, dir: &Path) {
    let ndjson = dir.join("export.ndjson");
    if !ndjson.exists() {
        let lines: Vec<String> = open(full)
            .read_side(|conn| {
                let mut stmt = conn.prepare("SELECT v.json FROM resource r JOIN version v ON v.rid = r.rid AND v.version = r.version LIMIT 100000")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
            })
            .unwrap();
        std::fs::write(&ndjson, lines.join("\n")).unwrap();
    }
    let target = dir.join("import-target.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
    }
    let _ = std::fs::remove_file(bedside::server::store::trail_path(&target));
    let store = open(&target);
    let started = Instant::now();
    let s = bedside::server::import::import_files(&store, std::slice::from_ref(&ndjson), |_| {});
    let secs = started.elapsed().as_secs_f64();
    println!(
        "import NDJSON: {} resources in {secs:.1} s = {:.0} resources/s ({} rejected)",
        s.imported,
        s.imported as f64 / secs,
        s.rejected
    );
    drop(store);
    // What each part of an import costs, on its own (after the import, so that holding every
    // parsed resource in memory does not slow the import down).
    let text = std::fs::read_to_string(&ndjson).unwrap();
    let parsed: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let started = Instant::now();
    let invalid = parsed
        .iter()
        .filter(|v| !bedside::fhir::validate::validate(v).is_empty())
        .count();
    let validate = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let rows: usize = parsed
        .iter()
        .map(|v| {
            let t = v["resourceType"].as_str().unwrap_or_default();
            bedside::fhir::extract::extract(t, "x", v).entries.len()
        })
        .sum();
    let extract = started.elapsed().as_secs_f64();
    println!(
        "of which: validation {:.1} µs per resource ({invalid} invalid), index extraction {:.1} µs ({:.1} rows each)",
        validate * 1e6 / parsed.len() as f64,
        extract * 1e6 / parsed.len() as f64,
        rows as f64 / parsed.len() as f64
    );
}

/// The size of a database file per million resources (index rows and every version included).
fn database_size(db: &Path) {
    let resources: i64 = open(db)
        .read_side(|conn| Ok(conn.query_row("SELECT COUNT(*) FROM resource", [], |r| r.get(0))?))
        .unwrap();
    let bytes = std::fs::metadata(db).map(|m| m.len()).unwrap_or(0) as f64;
    println!(
        "database {}: {:.0} MB for {resources} resources = {:.0} MB per million resources",
        db.file_name().unwrap().to_string_lossy(),
        bytes / 1e6,
        bytes / 1e6 / resources as f64 * 1e6
    );
}

/// Imports the whole official R4 example package (every type; fetched by
/// `.ci/fetch-fhir-examples`) into a new database, validation included.
fn examples_import_rate(dir: &Path) {
    let package = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fhir-examples/package");
    if !package.join("Patient-example.json").exists() {
        println!("official examples: not fetched (run .ci/fetch-fhir-examples)");
        return;
    }
    let files = bedside::server::import::collect_files(&[package]).unwrap();
    let target = dir.join("examples-target.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
    }
    let _ = std::fs::remove_file(bedside::server::store::trail_path(&target));
    let store = open(&target);
    let started = Instant::now();
    let s = bedside::server::import::import_files(&store, &files, |_| {});
    let secs = started.elapsed().as_secs_f64();
    println!(
        "import the official R4 examples: {} files, {} resources in {secs:.1} s = {:.0} resources/s ({} refused: the invalid examples and the package's own index files)",
        s.files,
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
        let auth = bedside::server::auth::Auth::new(open(db));
        let _ = auth.add_user(
            "bench",
            "Bench",
            bedside::server::auth::Role::Physician,
            "bench-password",
        );
        let token = auth.issue_for("bench").unwrap().token;
        let child = Command::new(
            // BENCH_SERVER_BIN: another build of bedside to measure (the previous main, say).
            std::env::var("BENCH_SERVER_BIN").unwrap_or(env!("CARGO_BIN_EXE_bedside").to_string()),
        )
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(db)
        .envs(bench_key().map(|_| ("BEDSIDE_DB_KEY", "5a".repeat(32))))
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
        .unwrap_or_else(|| panic!("no patient in {v}"))
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

// ---------------------------------------------------------------------------------------------
// Floods (issue 14): each hostile request against the real server process, its time and the
// server's extra memory. Each must finish in under 1 s and add under 50 MB of RSS.

const FLOOD_MS: f64 = 1000.0;
const FLOOD_MB: f64 = 50.0;

fn rss_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn flood() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("flood.db");
    for suffix in ["", "-wal", "-shm", ".key"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    ensure_seeded(
        &db,
        SeedOptions {
            patients: 200,
            seed: 3,
            anchor: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
            depth: Depth::Full,
            large_charts: 0,
        },
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut failures = 0;
    rt.block_on(async {
        let mut server = Server::start(&db, 18_803);
        let pid = server.child.id();
        let http = server.client();
        let base = server.base.clone();
        let root = base.trim_end_matches("/fhir").to_string();
        // Warm up: the first requests allocate the server's pools and caches.
        for _ in 0..20 {
            let _ = http.get(format!("{base}/Patient?name=a")).send().await;
        }
        let patient = |family: String| {
            serde_json::json!({"resourceType": "Patient", "name": [{"family": family, "given": ["Flood"]}]})
                .to_string()
        };
        let words = |n: usize| (0..n).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        let form = |body: String| {
            http.post(format!("{base}/Patient/_search"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
        };
        let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
            (
                "Patient with an 8,000-word family name (46 KiB)",
                http.post(format!("{base}/Patient"))
                    .header("content-type", "application/fhir+json")
                    .body(patient(words(8000))),
            ),
            (
                "Patient with a 100,000-word family name",
                http.post(format!("{base}/Patient"))
                    .header("content-type", "application/fhir+json")
                    .body(patient(words(100_000))),
            ),
            (
                "_sort with 200 keys",
                http.get(format!("{base}/Patient?_sort={}", vec!["_id"; 200].join(","))),
            ),
            (
                "_sort with 1,000 keys",
                http.get(format!("{base}/Patient?_sort={}", vec!["birthdate"; 1000].join(","))),
            ),
            (
                "50,000 _id values",
                form(format!(
                    "_id={}",
                    (0..50_000).map(|i| format!("id{i}")).collect::<Vec<_>>().join(",")
                )),
            ),
            (
                "5,000 name parameters",
                form((0..5000).map(|i| format!("name=n{i}")).collect::<Vec<_>>().join("&")),
            ),
            (
                "200 duplicate _revinclude",
                http.get(format!(
                    "{base}/Patient?name=a&{}",
                    vec!["_revinclude=Observation:subject"; 200].join("&")
                )),
            ),
            (
                "/auth/login with a 64 MiB body",
                reqwest::Client::new()
                    .post(format!("{root}/auth/login"))
                    .header("content-type", "application/json")
                    .body(vec![b' '; 64 * 1024 * 1024]),
            ),
        ];
        println!("| flood | status | time | server RSS after | extra RSS | peak RSS |");
        println!("|---|---|---|---|---|---|");
        for (label, request) in cases {
            let (before, _) = rss_kb(pid);
            let t = Instant::now();
            let status = match request.send().await {
                Ok(r) => {
                    let s = r.status().as_u16().to_string();
                    let _ = r.bytes().await;
                    s
                }
                Err(_) => "closed".to_string(),
            };
            let ms = t.elapsed().as_secs_f64() * 1e3;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let (after, peak) = rss_kb(pid);
            let extra_mb = after.saturating_sub(before) as f64 / 1024.0;
            let ok = ms < FLOOD_MS && extra_mb < FLOOD_MB;
            if !ok {
                failures += 1;
            }
            println!(
                "| {label} | {status} | {ms:.0} ms | {:.1} MB | {extra_mb:.1} MB | {:.1} MB |{}",
                after as f64 / 1024.0,
                peak as f64 / 1024.0,
                if ok { "" } else { " OVER" }
            );
        }
        // Half-sent headers: 1,100 connections that never finish their headers.
        let (before, _) = rss_kb(pid);
        let mut held = Vec::new();
        for _ in 0..1100 {
            if let Ok(mut c) = tokio::net::TcpStream::connect(("127.0.0.1", 18_803)).await {
                use tokio::io::AsyncWriteExt;
                let _ = c.write_all(b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n").await;
                held.push(c);
            }
        }
        let (during, _) = rss_kb(pid);
        // Past 1,024 open connections the rest wait to be accepted, and then have their own
        // header timeout: two timeouts and a margin.
        tokio::time::sleep(Duration::from_secs(23)).await;
        let mut closed = 0;
        for c in &mut held {
            use tokio::io::AsyncReadExt;
            let mut buf = [0u8; 64];
            if matches!(
                tokio::time::timeout(Duration::from_millis(20), c.read(&mut buf)).await,
                Ok(Ok(0)) | Ok(Err(_))
            ) {
                closed += 1;
            }
        }
        let (after, _) = rss_kb(pid);
        println!(
            "| {} connections with half-sent headers | {closed} closed after 23 s (header timeout 10 s, 1,024 connections at once) | | {:.1} MB | {:.1} MB while held | |",
            held.len(),
            after as f64 / 1024.0,
            during.saturating_sub(before) as f64 / 1024.0,
        );
        if closed < held.len() {
            failures += 1;
        }
        // A plain request still works.
        let r = http.get(format!("{base}/Patient?name=a")).send().await.unwrap();
        assert!(r.status().is_success());
        server.stop();
    });
    if failures > 0 {
        eprintln!("{failures} flood(s) over {FLOOD_MS} ms or {FLOOD_MB} MB");
        std::process::exit(1);
    }
}

/// Issue 22's support-desk figures: the chart as it was and the field diff of every version
/// for a 14,000-resource chart, and a merge (and its undo) of a 2,000-resource chart.
fn support_desk() {
    use bedside::server::support::merge;
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let store = bedside::server::store::Store::open(&dir.path().join("support.db")).unwrap();
    let obs = |patient: &str, i: usize, value: f64| {
        json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
            "subject": {"reference": format!("Patient/{patient}")},
            "effectiveDateTime": format!("2026-{:02}-{:02}T08:00:00Z", 1 + i % 12, 1 + i % 28),
            "valueQuantity": {"value": value, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}})
    };
    let started = Instant::now();
    let mut ids = Vec::new();
    store
        .write(|tx| {
            for p in ["big", "src", "dst"] {
                tx.create(
                    json!({"resourceType": "Patient", "name": [{"family": p}]}),
                    Some(p),
                )?;
            }
            for i in 0..14_000 {
                ids.push(tx.create(obs("big", i, 4.0), None)?.id);
            }
            for i in 0..2_000 {
                tx.create(obs("src", i, 4.0), None)?;
            }
            Ok(())
        })
        .unwrap();
    let middle = bedside::fhir::date::now_ms();
    std::thread::sleep(std::time::Duration::from_millis(5));
    store
        .write(|tx| {
            for (i, id) in ids.iter().enumerate() {
                tx.update(
                    "Observation",
                    id,
                    {
                        let mut o = obs("big", i, 5.0);
                        o["id"] = json!(id);
                        o
                    },
                    None,
                )?;
            }
            Ok(())
        })
        .unwrap();
    println!(
        "support: 14,000-resource chart (two versions each) and a 2,000-resource chart written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for _ in 0..2 {
        let started = Instant::now();
        let rows = store
            .reader()
            .unwrap()
            .as_of("big", middle, 50_000)
            .unwrap();
        println!(
            "support: chart as it was, {} records rebuilt from history in {:.0} ms",
            rows.len(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    let started = Instant::now();
    let mut changes = 0;
    let reader = store.reader().unwrap();
    for id in &ids {
        let page = reader
            .history(
                bedside::server::store::HistoryScope::Instance("Observation", id),
                None,
                0,
                100,
            )
            .unwrap();
        let versions: Vec<serde_json::Value> = page
            .rows
            .iter()
            .filter_map(|r| r.json.as_deref())
            .map(|j| serde_json::from_str(j).unwrap())
            .collect();
        for w in versions.windows(2) {
            changes += bedside::fhir::diff::fields(&w[1], &w[0]).len();
        }
    }
    drop(reader);
    println!(
        "support: history of all 14,000 records read and diffed field by field ({changes} changes) in {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    let who = merge::Who {
        username: "bench".into(),
        practitioner: None,
    };
    let started = Instant::now();
    let merged = store
        .write(|tx| merge::apply(tx, "src", "dst", "urn:mrn", "bench merge", None, &who))
        .unwrap();
    println!(
        "support: merge of a {}-resource chart in {:.0} ms",
        merged.preview.moving.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    let started = Instant::now();
    let undone = store
        .write(|tx| merge::undo(tx, &merged.provenance.id, "bench undo", &who))
        .unwrap();
    println!(
        "support: undo of that merge ({} records written back) in {:.0} ms",
        undone.written.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );
}
