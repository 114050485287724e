//! What the service does with a plan's copy on its actor: read it, change it as someone,
//! create it, merge one fetched from another server, see what an upstream lacks.

use super::*;

impl SyncHandle {
    /// How much of a plan an upstream server lacks: the number of our changes it does not
    /// have and its heads, as it told us on `conn` (see [`SyncHandle::dial`]) or else as
    /// `recorded` earlier.
    pub async fn upstream_lacks(
        &self,
        plan: DocumentId,
        conn: Option<ConnId>,
        recorded: Vec<String>,
    ) -> Result<Option<(usize, Vec<String>)>, ServiceError> {
        self.call(plan, move |a| a.upstream_lacks(conn, recorded))
            .await
    }

    /// Merges a plan fetched from another server into ours (creating it here if we do not
    /// hold it) and stores it; the plan's row comes with it.
    pub async fn merge_plan(&self, doc: DocumentId, plan: AutoCommit) -> Result<(), ServiceError> {
        self.call_saved(doc, move |a| {
            // Our stored copy first, so the fetched one merges into it.
            a.held()?;
            a.add(plan);
            Ok(())
        })
        .await
    }

    /// A copy of a plan's document as the server holds it now (`None` if it has no such plan).
    pub async fn document(&self, plan: DocumentId) -> Result<Option<AutoCommit>, ServiceError> {
        self.call(plan, |a| Ok(a.held()?.map(|d| d.fork()))).await?
    }

    /// The heads of a plan as the server holds it now, or the given ones if it has every
    /// change they name.
    pub async fn heads(
        &self,
        plan: DocumentId,
        given: Option<Vec<String>>,
    ) -> Result<Vec<ChangeHash>, ServiceError> {
        self.call(plan, move |a| {
            let doc = a.held()?.ok_or(ServiceError::NoPlan)?;
            match given {
                None => Ok(doc.get_heads()),
                Some(h) => {
                    let h = crate::history::parse_heads(&h).ok_or(ServiceError::UnknownHeads)?;
                    if h.is_empty() || h.iter().any(|x| doc.get_change_by_hash(x).is_none()) {
                        return Err(ServiceError::UnknownHeads);
                    }
                    Ok(h)
                }
            }
        })
        .await?
    }

    /// Applies plan operations on the server's copy of a plan as one change made on behalf of
    /// `by`, stores it and sends it to everyone syncing the plan. The operations run on a
    /// copy, on a blocking thread, so a large import or restore never holds up sync; only
    /// merging the finished change back happens on the plan's actor.
    pub async fn change_plan<T: Send + 'static>(
        &self,
        plan: DocumentId,
        by: ParticipantId,
        message: Option<String>,
        f: impl FnOnce(&mut PlanDoc) -> plansync_shared::Result<T> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (mut copy, before) = self
            .call(plan, |a| {
                let doc = a.held()?.ok_or(ServiceError::NoPlan)?;
                Ok::<_, ServiceError>((doc.fork(), doc.get_heads()))
            })
            .await??;
        let (out, chunk, hashes) = tokio::task::spawn_blocking(move || {
            let commit = plansync_shared::Commit {
                time_secs: Some(now_ms() as i64 / 1000),
                message,
            };
            let out = PlanDoc::change_with(&mut copy, commit, f)?;
            let hashes: Vec<_> = copy.get_changes(&before).iter().map(|c| c.hash()).collect();
            let chunk = copy.save_after(&before);
            Ok::<_, ServiceError>((out, chunk, hashes))
        })
        .await
        .map_err(|e| ServiceError::Io(e.to_string()))??;
        if hashes.is_empty() {
            return Ok(out);
        }
        self.call_saved(plan, move |a| a.merge_change(&chunk))
            .await?;
        self.inner
            .shared
            .store
            .attribute(plan.to_string(), hashes, by, now_ms() as i64)
            .await?;
        Ok(out)
    }

    /// Creates a plan (with no participants yet) and stores it durably before answering.
    pub async fn create_plan(&self, kind: PlanKind) -> Result<PlanRow, ServiceError> {
        let plan = tokio::task::spawn_blocking(move || {
            let mut rng = rand::rng();
            let plan = match kind {
                PlanKind::Demo => demo_plan(&mut rng)?,
                PlanKind::Import(doc) => PlanDoc::from_automerge(*doc)?,
                PlanKind::Empty(title) => {
                    let mut p = PlanDoc::create(
                        &NewPlan {
                            title,
                            area: String::new(),
                            period_start: 2026,
                            period_end: 2028,
                            owning_body: String::new(),
                        },
                        &mut rng,
                    )?;
                    p.commit();
                    p
                }
            };
            Ok::<_, ServiceError>(plan.into_automerge())
        })
        .await
        .map_err(|e| ServiceError::Io(e.to_string()))??;
        let doc = DocumentId::random(&mut rand::rng());
        self.call_saved(doc, move |a| {
            a.add(plan);
            Ok(())
        })
        .await?;
        let id = doc.to_string();
        let plans = self.inner.shared.store.plans().await?;
        plans
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(ServiceError::NotSaved)
    }
}
