//! Writing the record: a set of vital signs as one transaction.

use super::*;

impl Runner {
    /// This feature's effects (`runs` sends only these here).
    pub(super) fn run_record(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        let client = self.client.clone();
        if let Effect::RecordVitals {
            context,
            bundle,
            sent,
        } = effect
        {
            tokio::spawn(async move {
                let result = client.post_bundle(&bundle, SEND_TIMEOUT).await;
                let _ = tx.send(Msg::Vitals(crate::workstation::msg::VitalsMsg::Recorded {
                    context,
                    sent,
                    result,
                }));
            });
        }
    }
}
