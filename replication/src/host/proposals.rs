//! Writes: [`ReplicationHost::propose`] on a group's leader.

use openraft::errors::{ClientWriteError, RaftError};

use super::{ReplicationHost, leader_hint};
use crate::raft_types::CommandBytes;
use crate::{GroupId, ProposeError, StateMachine};

impl<S: StateMachine> ReplicationHost<S> {
    /// Proposes `command` to `group` and returns the state machine's response once the command
    /// is committed and applied here. Must run on the leader.
    ///
    /// Errors tell whether the command may have applied: see
    /// [`ProposeError::definitely_not_applied`].
    pub async fn propose(
        &self,
        group: GroupId,
        command: &S::Command,
    ) -> Result<S::Response, ProposeError> {
        if self.shutting_down() {
            return Err(ProposeError::ShuttingDown);
        }
        let hosted = self
            .group(group)
            .ok_or(ProposeError::GroupNotHosted(group))?;
        let bytes =
            bincode::serialize(command).map_err(|error| ProposeError::Encode(error.to_string()))?;
        let limit = self.inner.config.max_command_len;
        if bytes.len() > limit {
            return Err(ProposeError::TooLarge {
                size: bytes.len(),
                limit,
            });
        }
        let timeout = self.inner.config.propose_timeout;
        let written = tokio::time::timeout(timeout, hosted.raft.client_write(CommandBytes(bytes)));
        match written.await {
            Err(_) => Err(ProposeError::OutcomeUnknown {
                reason: format!("not committed within {timeout:?}"),
            }),
            Ok(Ok(response)) => match response.data.0 {
                Some(Ok(output)) => output
                    .downcast::<S::Response>()
                    .map(|boxed| *boxed)
                    .map_err(|_| ProposeError::OutcomeUnknown {
                        reason: "applied, but the response has an unexpected type".to_owned(),
                    }),
                Some(Err(error)) => Err(ProposeError::Undecodable(error)),
                None => Err(ProposeError::OutcomeUnknown {
                    reason: "applied without a response".to_owned(),
                }),
            },
            // openraft rejects before appending: nothing was written anywhere.
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward)))) => {
                Err(ProposeError::NotLeader {
                    leader: leader_hint(&forward),
                })
            }
            Ok(Err(RaftError::APIError(ClientWriteError::LogEntryDiscarded(forward)))) => {
                Err(ProposeError::OutcomeUnknown {
                    reason: format!("leadership lost after the write was appended ({forward})"),
                })
            }
            Ok(Err(error)) => Err(ProposeError::OutcomeUnknown {
                reason: error.to_string(),
            }),
        }
    }
}
