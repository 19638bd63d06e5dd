//! Signing and discontinuing orders.

use super::*;

impl Runner {
    /// This feature's effects (`runs` sends only these here).
    pub(super) fn run_orders(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        let client = self.client.clone();
        match effect {
            Effect::SignOrders { context, bundle } => {
                tokio::spawn(async move {
                    let result = client.post_bundle(&bundle, SEND_TIMEOUT).await;
                    let _ = tx.send(Msg::Orders(OrdersMsg::Signed { context, result }));
                });
            }
            Effect::Discontinue {
                context,
                reference,
                reason,
            } => {
                tokio::spawn(async move {
                    let result = async {
                        let current = client.get(&reference, &[], SEND_TIMEOUT).await?;
                        let version = current
                            .pointer("/meta/versionId")
                            .and_then(serde_json::Value::as_str)
                            .map(str::to_string);
                        let update =
                            crate::workstation::orders::basket::discontinued(current, &reason);
                        client
                            .write(&update, None, version.as_deref(), SEND_TIMEOUT)
                            .await
                    }
                    .await;
                    let _ = tx.send(Msg::Orders(OrdersMsg::Discontinued { context, result }));
                });
            }
            _ => {}
        }
    }
}
