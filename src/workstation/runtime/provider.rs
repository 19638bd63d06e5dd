//! The hospital's identity provider, once the user is in: the access token renewed in the
//! background, and a new sign-in from the lock screen when it cannot be (the browser step
//! finished the same way as at start). New tokens are held until `update` has checked that
//! the same person signed in; only then does the client send them.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::workstation::client::FhirClient;
use crate::workstation::client::smart::{self, Shown, Tokens, Way};
use crate::workstation::msg::AccessMsg;
use crate::workstation::state::Msg;

use super::Runner;

/// A sign-in with the provider: how its tokens are renewed, and how to sign in again.
pub struct Renewal {
    pub client: smart::Client,
    pub refresh: Option<String>,
    pub expires_in: Option<u64>,
    /// How the browser step is finished (again, at the lock screen).
    pub way: Way,
    /// The redirect address registered for pasting.
    pub paste_redirect: String,
    /// Who signed in (the ID token's name): a new sign-in must be the same person.
    pub who: Option<String>,
}

impl Renewal {
    /// Renews the token `fhir` sends until a renewal fails; then reports why (the screen
    /// locks). Without a refresh token there is nothing to renew: the token's expiry locks.
    async fn run(
        client: smart::Client,
        mut refresh: Option<String>,
        mut expires_in: Option<u64>,
        fhir: FhirClient,
        tx: UnboundedSender<Msg>,
    ) {
        loop {
            let Some(token) = refresh.clone() else {
                return;
            };
            // At four fifths of the token's life (never more often than every 8 s).
            let life = expires_in.unwrap_or(300).max(10);
            tokio::time::sleep(std::time::Duration::from_secs(life * 4 / 5)).await;
            match client.refresh(fhir.http(), &token).await {
                Ok(tokens) => {
                    fhir.set_token(Some(tokens.access));
                    refresh = tokens.refresh;
                    expires_in = tokens.expires_in;
                }
                Err(e) => {
                    let _ = tx.send(Msg::Access(AccessMsg::RenewalFailed(e.to_string())));
                    return;
                }
            }
        }
    }
}

/// What the runtime keeps of the provider sign-in.
pub(super) struct Link {
    client: smart::Client,
    way: Way,
    paste_redirect: String,
    renewing: Option<JoinHandle<()>>,
    signing_in: Option<JoinHandle<()>>,
    /// Where pasted answers go, while a paste sign-in waits for one.
    paste: Option<tokio::sync::mpsc::Sender<String>>,
    /// Tokens of a new sign-in, until `update` accepts or discards them.
    pending: Arc<Mutex<Option<Tokens>>>,
}

impl Runner {
    /// Starts renewing the tokens of the sign-in at start.
    pub fn provider(&mut self, renewal: Renewal) {
        let renewing = tokio::spawn(Renewal::run(
            renewal.client.clone(),
            renewal.refresh,
            renewal.expires_in,
            self.client.clone(),
            self.tx.clone(),
        ));
        self.provider = Some(Link {
            client: renewal.client,
            way: renewal.way,
            paste_redirect: renewal.paste_redirect,
            renewing: Some(renewing),
            signing_in: None,
            paste: None,
            pending: Default::default(),
        });
    }

    /// A new sign-in with the provider, from the lock screen.
    pub(super) fn provider_sign_in(&mut self) {
        let tx = self.tx.clone();
        let Some(link) = &mut self.provider else {
            let _ = tx.send(Msg::Access(AccessMsg::ProviderSignedIn(Err(
                "this session did not sign in with an identity provider".into(),
            ))));
            return;
        };
        if let Some(task) = link.signing_in.take() {
            task.abort();
        }
        let (paste, mut pasted) = tokio::sync::mpsc::channel(4);
        link.paste = Some(paste);
        let client = link.client.clone();
        let way = link.way;
        let redirect = link.paste_redirect.clone();
        let pending = link.pending.clone();
        let http = self.client.http().clone();
        link.signing_in = Some(tokio::spawn(async move {
            let shown_tx = tx.clone();
            let mut show = move |shown: Shown| {
                if let Shown::OpenUrl(url) = &shown {
                    smart::open_browser(url);
                }
                let _ = shown_tx.send(Msg::Access(AccessMsg::ProviderShown(shown)));
            };
            let result = smart::sign_in(&http, &client, way, &redirect, &mut show, &mut pasted)
                .await
                .map(|tokens| {
                    let who = tokens.who.clone();
                    *pending.lock().unwrap_or_else(|p| p.into_inner()) = Some(tokens);
                    who
                })
                .map_err(|e| e.to_string());
            let _ = tx.send(Msg::Access(AccessMsg::ProviderSignedIn(result)));
        }));
    }

    /// What the user pasted, to the sign-in waiting for it.
    pub(super) fn provider_paste(&mut self, text: String) {
        if let Some(paste) = self.provider.as_ref().and_then(|l| l.paste.as_ref()) {
            let _ = paste.try_send(text);
        }
    }

    /// The new sign-in's tokens are used from now on (the same person signed in).
    pub(super) fn provider_accept(&mut self) {
        let fhir = self.client.clone();
        let tx = self.tx.clone();
        let Some(link) = &mut self.provider else {
            return;
        };
        let Some(tokens) = link
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return;
        };
        fhir.set_token(Some(tokens.access));
        if let Some(task) = link.renewing.take() {
            task.abort();
        }
        link.paste = None;
        link.renewing = Some(tokio::spawn(Renewal::run(
            link.client.clone(),
            tokens.refresh,
            tokens.expires_in,
            fhir,
            tx,
        )));
    }

    /// The new sign-in's tokens are dropped (another person signed in at this terminal);
    /// its refresh token is revoked.
    pub(super) fn provider_discard(&mut self) {
        let Some(link) = &mut self.provider else {
            return;
        };
        link.paste = None;
        let dropped = link
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(refresh) = dropped.and_then(|t| t.refresh) {
            let client = link.client.clone();
            let http = self.client.http().clone();
            tokio::spawn(async move { client.revoke(&http, &refresh).await });
        }
    }
}
