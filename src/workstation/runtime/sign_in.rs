//! Signing in and out, the vault, signatures, break-the-glass and the access log.

use super::*;

impl Runner {
    /// This feature's effects (`runs` sends only these here).
    pub(super) fn run_sign_in(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        let client = self.client.clone();
        match effect {
            Effect::CheckSignature {
                context,
                target,
                secret,
            } => {
                let vault = self.vault().cloned();
                tokio::spawn(async move {
                    let mut result = client
                        .check_signature(secret.expose(), target.word())
                        .await
                        .map(|()| false);
                    // Offline, a note may still be signed (into the outbox) once the key
                    // file of this terminal's open vault has checked the secret (the
                    // password, or a token user's passphrase); orders never are.
                    let offline = matches!(&result, Err(e) if is_offline(e));
                    if let (true, Some(vault), SignTarget::Note(_)) = (offline, vault, target) {
                        let checked = tokio::task::spawn_blocking(move || {
                            vault.check_secret(secret.expose())
                        })
                        .await;
                        result = match checked {
                            Ok(Ok(())) => Ok(true),
                            Ok(Err(crate::workstation::vault::VaultError::WrongSecret)) => {
                                Err(FetchError::SignatureRefused(
                                    "the signature code is not right (checked on this terminal): nothing was signed"
                                        .into(),
                                ))
                            }
                            Ok(Err(e)) => Err(FetchError::SignatureRefused(format!(
                                "the signature could not be checked on this terminal ({e}): nothing was signed"
                            ))),
                            Err(_) => Err(FetchError::SignatureRefused(
                                "the signature check failed: nothing was signed".into(),
                            )),
                        };
                    }
                    let _ = tx.send(Msg::Access(AccessMsg::SignatureChecked {
                        context,
                        target,
                        result,
                    }));
                });
            }
            Effect::ChangePassword {
                username,
                current,
                new,
                code,
            } => {
                let storage = self.storage.clone();
                tokio::spawn(async move {
                    let result = client
                        .change_password(
                            &username,
                            current.expose(),
                            new.expose(),
                            code.as_ref().map(Secret::expose),
                        )
                        .await;
                    match result {
                        Ok(user) => {
                            let _ = tx.send(Msg::Access(AccessMsg::SignedIn(Ok(user.clone()))));
                            if let Some(cfg) = storage {
                                let opened = offline::open_after_sign_in(cfg, user, new).await;
                                let _ =
                                    tx.send(Msg::Access(AccessMsg::VaultOpened(Box::new(opened))));
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Msg::Access(AccessMsg::SignedIn(Err(e))));
                        }
                    }
                });
            }
            Effect::Login {
                username,
                password,
                code,
                replace,
            } => {
                let storage = self.storage.clone();
                tokio::spawn(async move {
                    // A failed attempt leaves the held token alone; a new one replaces it,
                    // and the old one is revoked on the server.
                    let old = if replace { client.token() } else { None };
                    let result = client
                        .login(
                            &username,
                            password.expose(),
                            code.as_ref().map(Secret::expose),
                        )
                        .await;
                    match result {
                        Ok(user) => {
                            if let Some(old) = old {
                                client.revoke(old).await;
                            }
                            let _ = tx.send(Msg::Access(AccessMsg::SignedIn(Ok(user.clone()))));
                            if let Some(cfg) = storage {
                                let opened = offline::open_after_sign_in(cfg, user, password).await;
                                let _ =
                                    tx.send(Msg::Access(AccessMsg::VaultOpened(Box::new(opened))));
                            }
                        }
                        // Not reached: whether to sign in offline is `update`'s decision.
                        Err(e) => {
                            let _ = tx.send(Msg::Access(AccessMsg::SignedIn(Err(e))));
                        }
                    }
                });
            }
            Effect::OpenOffline {
                username,
                password,
                same_user,
                unreachable,
            } => match self.storage.clone() {
                Some(cfg) => {
                    tokio::spawn(async move {
                        match offline::open_offline(cfg, username, password).await {
                            Ok(unlocked) => {
                                if !same_user {
                                    // Another user's token must not be used for this one.
                                    client.set_token(None);
                                }
                                let user = unlocked.offline_user.clone();
                                let _ = tx.send(Msg::Offline(OfflineMsg::Connectivity(false)));
                                if let Some(user) = user {
                                    let _ = tx.send(Msg::Access(AccessMsg::SignedIn(Ok(user))));
                                }
                                let _ = tx.send(Msg::Access(AccessMsg::VaultOpened(Box::new(Ok(
                                    unlocked,
                                )))));
                            }
                            Err(message) => {
                                let _ = tx.send(Msg::Access(AccessMsg::SignedIn(Err(
                                    crate::workstation::client::LoginError::Refused(message),
                                ))));
                            }
                        }
                    });
                }
                None => {
                    let _ = tx.send(Msg::Access(AccessMsg::SignedIn(Err(
                        crate::workstation::client::LoginError::Fetch(unreachable),
                    ))));
                }
            },
            Effect::OpenVault { secret } => match self.storage.clone() {
                Some(cfg) => {
                    tokio::spawn(async move {
                        let opened = offline::open_with_passphrase(cfg, secret).await;
                        let _ = tx.send(Msg::Access(AccessMsg::VaultOpened(Box::new(opened))));
                    });
                }
                None => {
                    let _ = tx.send(Msg::Access(AccessMsg::VaultOpened(Box::new(Err(
                        "this workstation keeps no offline data".into(),
                    )))));
                }
            },
            Effect::ProviderSignIn => self.provider_sign_in(),
            Effect::ProviderPaste(text) => self.provider_paste(text.expose().to_string()),
            Effect::ProviderAccept => self.provider_accept(),
            Effect::ProviderDiscard => self.provider_discard(),
            Effect::Logout => {
                tokio::spawn(async move { client.logout().await });
            }
            Effect::UserChanged { username } => {
                if let Some(template) = &self.recent_file {
                    let file = format!("recent-patients-{username}.json");
                    let path = template.with_file_name(file);
                    let store = RecentStore::new(path, &client.base());
                    let file = store.clone();
                    self.recent = Some(store);
                    tokio::task::spawn_blocking(move || {
                        let _ = tx.send(Msg::Search(SearchMsg::RecentIds(file.load())));
                    });
                }
            }
            Effect::BreakGlass {
                context,
                patient_id,
                reason,
            } => {
                tokio::spawn(async move {
                    let result = client.break_glass(&patient_id, &reason).await;
                    let _ = tx.send(Msg::Access(AccessMsg::GlassBroken { context, result }));
                });
            }
            Effect::LoadAccessLog {
                context,
                patient_id,
                params,
            } => {
                tokio::spawn(async move {
                    let mut params = params;
                    params.push(("patient", format!("Patient/{patient_id}")));
                    let result = search(&client, "AuditEvent", &params).await;
                    let _ = tx.send(Msg::Access(AccessMsg::AccessLog { context, result }));
                });
            }
            _ => {}
        }
    }
}
