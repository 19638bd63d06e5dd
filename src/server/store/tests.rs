use super::*;

#[test]
fn every_parameter_has_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    for rtype in RESOURCE_TYPES {
        for param in params(rtype) {
            let found = crate::fhir::params::find(rtype, param.name).unwrap();
            assert!(
                store
                    .pids()
                    .0
                    .contains_key(&(found as *const Param as usize)),
                "{rtype}.{}",
                param.name
            );
        }
    }
}
