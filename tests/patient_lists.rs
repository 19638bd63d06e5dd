//! Personal patient lists (a FHIR `List` coded `urn:bedside:list|personal`, its `source` the
//! clinician): kept on the server so they follow their owner to any terminal, and read and
//! changed by that owner alone, whichever way another user comes in: a read, a search and its
//! count, `_has:List`, `_revinclude`, `_list`, history, `$everything`, PUT, PATCH, DELETE, a
//! conditional update, a transaction or a batch, or a change that would make the list
//! someone else's or no longer personal. Then the lists in the workstation against the
//! server: my patients (care teams), a team's list, and a list of my own made and changed.

mod common;

use std::time::Duration;

use bedside::server::auth::Role;
use bedside::workstation::Options;
use bedside::workstation::headless::{Headless, test_display};
use bedside::workstation::state::{Screen, State};
use common::screen::{loaded, notice};
use common::{TestServer, body, client_with, ids};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

fn personal(owner: &str, patient: &str) -> Value {
    let (system, code) = bedside::fhir::PERSONAL_LIST;
    json!({"resourceType": "List", "status": "current", "mode": "working", "title": "Post-take",
        "code": {"coding": [{"system": system, "code": code}]},
        "source": {"reference": format!("Practitioner/{owner}")},
        "entry": [{"item": {"reference": format!("Patient/{patient}")}}]})
}

async fn send(r: reqwest::RequestBuilder) -> (StatusCode, Value) {
    body(r.send().await.unwrap()).await
}

async fn get(c: &Client, srv: &TestServer, path: &str) -> (StatusCode, Value) {
    send(c.get(srv.url(path))).await
}

fn has_list(bundle: &Value, id: &str) -> bool {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["resource"]["resourceType"] == "List" && e["resource"]["id"] == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_personal_list_is_its_owners_alone_through_every_way_in() {
    let srv = TestServer::start().await;
    let (a_token, b_token) = (
        srv.user("dr.owner", Role::Physician),
        srv.user("dr.other", Role::Physician),
    );
    let a = client_with(&a_token);
    let b = client_with(&b_token);
    let (a_id, b_id) = (
        srv.practitioner_of(&a_token).await,
        srv.practitioner_of(&b_token).await,
    );
    let p = srv
        .create(
            json!({"resourceType": "Patient", "name": [{"family": "Listed", "given": ["Lia"]}]}),
        )
        .await;

    // Made by its owner; not for someone else, nor for no one.
    let (status, list) = send(a.post(srv.url("List")).json(&personal(&a_id, &p))).await;
    assert_eq!(status, StatusCode::CREATED, "{list}");
    let id = list["id"].as_str().unwrap().to_string();
    let (status, reply) = send(a.post(srv.url("List")).json(&personal(&b_id, &p))).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a list in someone else's name: {reply}"
    );
    let mut nobody = personal(&a_id, &p);
    nobody.as_object_mut().unwrap().remove("source");
    let (status, _) = send(a.post(srv.url("List")).json(&nobody)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a personal list of no one");

    // The owner reads it every way.
    assert_eq!(get(&a, &srv, &format!("List/{id}")).await.0, StatusCode::OK);
    let (_, found) = get(&a, &srv, &format!("List?item=Patient/{p}")).await;
    assert!(has_list(&found, &id));

    // Another clinician: refused or left out, whichever way.
    let (status, reply) = get(&b, &srv, &format!("List/{id}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
    assert_eq!(
        get(&b, &srv, &format!("List/{id}/_history")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&b, &srv, &format!("List/{id}/_history/1")).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, all) = get(&b, &srv, "List/_history").await;
    assert!(!has_list(&all, &id), "type history: {all}");
    for search in [
        format!("List?item=Patient/{p}"),
        "List?code=urn:bedside:list|personal".to_string(),
        format!("List?_id={id}"),
        format!("List?source=Practitioner/{a_id}"),
        format!("List?_id={id}&_include=List:item:Patient"),
    ] {
        let (status, found) = get(&b, &srv, &search).await;
        assert_eq!(status, StatusCode::OK, "{search}: {found}");
        assert!(!has_list(&found, &id), "{search}: {found}");
        assert!(
            ids(&found).is_empty(),
            "{search}: nothing of the list, not even its patients: {found}"
        );
    }
    // Counts do not give it away either.
    let (_, count) = get(&b, &srv, &format!("List?item=Patient/{p}&_summary=count")).await;
    assert_eq!(count["total"], 0, "{count}");
    let (_, count) = get(&a, &srv, &format!("List?item=Patient/{p}&_summary=count")).await;
    assert_eq!(count["total"], 1, "{count}");
    // Which patients are on someone's list: not through `_has`, nor `_revinclude`.
    let has = "Patient?_has:List:item:code=urn:bedside:list|personal";
    let (_, found) = get(&b, &srv, has).await;
    assert!(!ids(&found).contains(&p), "{found}");
    let (_, found) = get(&a, &srv, has).await;
    assert!(ids(&found).contains(&p), "the owner's own: {found}");
    let (_, found) = get(&b, &srv, &format!("Patient?_id={p}&_revinclude=List:item")).await;
    assert!(!has_list(&found, &id), "{found}");
    let (status, _) = get(&b, &srv, &format!("Patient?_list={id}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "_list");
    let (_, everything) = get(&b, &srv, &format!("Patient/{p}/$everything")).await;
    assert!(!has_list(&everything, &id));

    // Changing it: PUT, PATCH, DELETE, a conditional update, a transaction, a batch; and a
    // version that would no longer be personal is judged against the one it replaces.
    let mut taken = list.clone();
    taken["source"] = json!({"reference": format!("Practitioner/{b_id}")});
    let mut opened = list.clone();
    opened["code"] = json!({"text": "shared"});
    for body in [&taken, &opened, &list] {
        let (status, reply) = send(b.put(srv.url(&format!("List/{id}"))).json(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
    }
    let (status, _) = send(
        b.patch(srv.url(&format!("List/{id}")))
            .header("content-type", "application/json-patch+json")
            .body(json!([{"op": "replace", "path": "/title", "value": "mine now"}]).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "PATCH");
    let (status, _) = send(b.delete(srv.url(&format!("List/{id}")))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "DELETE");
    // A conditional update does not even find it (the search leaves it out); the id in the
    // body is then taken.
    let (status, reply) = send(b.put(srv.url(&format!("List?_id={id}"))).json(&opened)).await;
    assert!(
        [StatusCode::FORBIDDEN, StatusCode::CONFLICT].contains(&status),
        "conditional update: {status} {reply}"
    );
    for kind in ["transaction", "batch"] {
        let bundle = json!({"resourceType": "Bundle", "type": kind, "entry": [
            {"resource": opened, "request": {"method": "PUT", "url": format!("List/{id}")}}]});
        let (status, reply) = send(b.post(srv.base.clone()).json(&bundle)).await;
        if kind == "transaction" {
            assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
        } else {
            assert_eq!(
                reply["entry"][0]["response"]["status"]
                    .as_str()
                    .unwrap_or_default()
                    .get(..3),
                Some("403"),
                "{reply}"
            );
        }
        let read = json!({"resourceType": "Bundle", "type": "batch", "entry": [
            {"request": {"method": "GET", "url": format!("List/{id}")}}]});
        let (_, reply) = send(b.post(srv.base.clone()).json(&read)).await;
        assert!(!reply.to_string().contains("Post-take"), "{reply}");
    }
    // Nothing changed; the owner still changes it.
    let (_, now) = get(&a, &srv, &format!("List/{id}")).await;
    assert_eq!(now["meta"]["versionId"], "1", "{now}");
    let mut renamed = now.clone();
    renamed["title"] = json!("Night round");
    let (status, reply) = send(
        a.put(srv.url(&format!("List/{id}")))
            .header("if-match", "W/\"1\"")
            .json(&renamed),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
}

fn rows(s: &State) -> Vec<String> {
    s.census
        .as_ref()
        .map(|c| c.rows.iter().map(|r| r.patient_id.clone()).collect())
        .unwrap_or_default()
}

fn settled(s: &State) -> bool {
    s.census
        .as_ref()
        .is_some_and(|c| !c.loading && c.loaded_ms.is_some() && c.picking.is_none())
}

fn picker(s: &State) -> bool {
    s.census
        .as_ref()
        .is_some_and(|c| c.picking.is_some() && matches!(c.lists, Some(Ok(_))))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_patients_a_teams_list_and_a_list_of_my_own_at_80x24() {
    let srv = TestServer::start().await;
    let token = srv.user("dr.lists", Role::Physician);
    let me = srv.practitioner_of(&token).await;
    let doctor = client_with(&token);
    let mut p = Vec::new();
    for family in ["Mine", "Clinic", "Teamed", "Elsewhere"] {
        p.push(
            srv.create(
                json!({"resourceType": "Patient", "name": [{"family": family, "given": ["Pat"]}],
                "gender": "female", "birthDate": "1961-05-05"}),
            )
            .await,
        );
    }
    let team = srv
        .create(
            json!({"resourceType": "CareTeam", "status": "active", "name": "Renal",
            "participant": [{"member": {"reference": format!("Practitioner/{me}")}}]}),
        )
        .await;
    // Mine staying (I am on the stay), Clinic not staying (I am on the care team), Teamed on
    // the team's care team; Elsewhere on no list of mine.
    let (status, reply) = send(doctor.post(srv.url("Encounter")).json(&json!({
        "resourceType": "Encounter", "status": "in-progress", "class": {"code": "IMP"},
        "subject": {"reference": format!("Patient/{}", p[0])},
        "period": {"start": "2026-11-29T08:00:00Z"},
        "participant": [{"individual": {"reference": format!("Practitioner/{me}")}}]})))
    .await;
    assert!(status.is_success(), "{reply}");
    for (patient, member) in [
        (&p[1], format!("Practitioner/{me}")),
        (&p[2], format!("CareTeam/{team}")),
    ] {
        srv.create(json!({"resourceType": "CareTeam", "status": "active",
            "subject": {"reference": format!("Patient/{patient}")},
            "participant": [{"member": {"reference": member}}]}))
            .await;
    }
    srv.create(json!({"resourceType": "CareTeam", "status": "active",
        "subject": {"reference": format!("Patient/{}", p[3])},
        "participant": [{"member": {"reference": "Practitioner/someone-else"}}]}))
        .await;

    let mut options = Options::new(&srv.base);
    options.token = Some(token.clone());
    options.author = "Dr Lists".into();
    options.fhir_user = Some(format!("Practitioner/{me}"));
    let display = test_display(&srv.base, chrono::Utc::now().date_naive());
    let mut h = Headless::with_options(options, display, 80, 24).unwrap();

    // F4: the picker, my patients first.
    h.keys("<f4>").unwrap();
    assert!(h.wait_for(WAIT, picker).await, "{}", h.screen());
    let screen = h.screen();
    assert!(
        screen.contains("My patients") && screen.contains("Renal"),
        "{screen}"
    );
    h.keys("<enter>").unwrap();
    assert!(h.wait_for(WAIT, settled).await, "{}", h.screen());
    let mut mine = rows(h.state());
    mine.sort();
    let mut want = vec![p[0].clone(), p[1].clone()];
    want.sort();
    assert_eq!(mine, want, "{}", h.screen());
    assert!(
        h.screen().contains("My patients: 2 patients"),
        "{}",
        h.screen()
    );

    // The team's list.
    h.keys("w").unwrap();
    assert!(h.wait_for(WAIT, picker).await);
    h.keys("<down><enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s) && rows(s) == [p[2].clone()])
            .await,
        "{}",
        h.screen()
    );
    assert!(
        h.screen().contains("Team Renal: 1 patient"),
        "{}",
        h.screen()
    );

    // A list of my own: made from the picker, then a patient added from the chart.
    h.keys("wn").unwrap();
    h.keys("Night round<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s)
            && s.census
                .as_ref()
                .unwrap()
                .source
                .as_ref()
                .is_some_and(|x| x.is_personal()))
            .await,
        "{}",
        h.screen()
    );
    assert!(
        h.screen().contains("My list: Night round: 0 patients"),
        "{}",
        h.screen()
    );
    h.keys("/").unwrap();
    h.keys("Elsewhere").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.search.rows.len() == 1).await,
        "{}",
        h.screen()
    );
    h.keys("<enter>").unwrap();
    assert!(h.wait_for(WAIT, loaded).await, "{}", h.screen());
    h.keys("+").unwrap();
    assert!(h.wait_for(WAIT, picker).await, "{}", h.screen());
    assert!(h.screen().contains("to which list?"), "{}", h.screen());
    h.keys("<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| notice(s)
            .contains("added to My list: Night round"))
            .await,
        "{:?}",
        h.state().notice
    );
    assert_eq!(h.state().screen, Screen::Chart);
    // On the server: the list is mine and holds the patient.
    let (_, lists) = get(&doctor, &srv, &format!("List?source=Practitioner/{me}")).await;
    assert_eq!(lists["entry"].as_array().map(Vec::len), Some(1), "{lists}");
    let list = &lists["entry"][0]["resource"];
    assert_eq!(
        list["entry"][0]["item"]["reference"],
        format!("Patient/{}", p[3])
    );
    // Back on the list: the patient is there, and `x` takes them off.
    h.keys("<f4>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s) && rows(s) == [p[3].clone()])
            .await,
        "{}",
        h.screen()
    );
    h.keys("x").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s)
            && rows(s).is_empty()
            && notice(s).contains("Taken off"))
            .await,
        "{}",
        h.screen()
    );
    let (_, list) = get(
        &doctor,
        &srv,
        &format!("List/{}", list["id"].as_str().unwrap()),
    )
    .await;
    assert!(list["entry"].is_null(), "{list}");
    assert_eq!(
        list["meta"]["versionId"], "3",
        "made, added, taken off: {list}"
    );
}
