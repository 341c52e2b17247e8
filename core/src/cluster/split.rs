//! Multi-key commands whose keys span slots (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH) split by
//! slot and merged in the caller's order; keyless commands fanned out to many nodes and merged.

use bytes::Bytes;
use futures_util::future::join_all;
use tokio::time::Instant;

use super::{Core, Target};
use crate::error::{Error, Outcome, Result};
use crate::resp::Value;
use crate::slot::{key_slot, Merge, Split};
use crate::topology::Addr;
use crate::Cmd;

/// One sub-command for one slot, and where its keys sit in the caller's key list.
#[derive(Debug)]
pub(super) struct Group {
    slot: u16,
    cmd: Cmd,
    positions: Vec<usize>,
}

/// Groups the keys by slot, keeping first-seen order; `None` when every key shares one slot
/// (the command is sent whole) or the argument list is malformed (the server says so).
pub(super) fn by_slot(args: &[Bytes], split: Split) -> Option<Vec<Group>> {
    let step = match split {
        Split::KeyValuePairs => 2,
        _ => 1,
    };
    let rest = args.get(1..)?;
    if rest.is_empty() || rest.len() % step != 0 {
        return None;
    }
    let mut groups: Vec<Group> = Vec::new();
    for (pos, chunk) in rest.chunks(step).enumerate() {
        let slot = key_slot(&chunk[0]);
        let g = match groups.iter_mut().position(|g| g.slot == slot) {
            Some(i) => &mut groups[i],
            None => {
                groups.push(Group {
                    slot,
                    cmd: Cmd::new().arg(args[0].clone()),
                    positions: Vec::new(),
                });
                groups.last_mut()?
            }
        };
        for a in chunk {
            g.cmd.push(a.clone());
        }
        g.positions.push(pos);
    }
    (groups.len() > 1).then_some(groups)
}

impl Core {
    pub(super) async fn run_split(
        &self,
        groups: Vec<Group>,
        split: Split,
        readonly: bool,
        deadline: Instant,
    ) -> Result<Value> {
        let replies = join_all(
            groups
                .iter()
                .map(|g| self.run(&g.cmd, Target::Slot(Some(g.slot)), readonly, deadline)),
        )
        .await;
        let ok = replies.iter().filter(|r| r.is_ok()).count();
        if let Some(e) = replies.iter().find_map(|r| r.as_ref().err()) {
            let e = e.clone();
            return Err(if ok > 0 && !readonly {
                e.with_outcome(Outcome::MayHaveRun).context(format_args!(
                    "{ok} of {} slot groups were applied before this error",
                    groups.len()
                ))
            } else {
                e
            });
        }
        let replies: Vec<Value> = replies.into_iter().flatten().collect();
        match split {
            Split::KeysInOrder => {
                let total = groups.iter().map(|g| g.positions.len()).sum();
                let mut out = vec![Value::Nil; total];
                for (g, reply) in groups.iter().zip(replies) {
                    let Value::Array(items) = reply else {
                        return Err(Error::protocol(format!(
                            "expected an array from a split command, got {reply:?}"
                        )));
                    };
                    if items.len() != g.positions.len() {
                        return Err(Error::protocol(
                            "split reply has the wrong number of elements",
                        ));
                    }
                    for (pos, v) in g.positions.iter().zip(items) {
                        out[*pos] = v;
                    }
                }
                Ok(Value::Array(out))
            }
            Split::KeyValuePairs => merge(Merge::AllOk, replies),
            _ => merge(Merge::Sum, replies),
        }
    }

    pub(super) async fn fan_out(
        &self,
        cmd: &Cmd,
        nodes: Vec<Addr>,
        how: Merge,
        readonly: bool,
        deadline: Instant,
    ) -> Result<Value> {
        if nodes.is_empty() {
            return Err(Error::new(
                crate::ErrorKind::NoRoute,
                Outcome::NotRun,
                "no nodes known",
            ));
        }
        let replies = join_all(
            nodes
                .into_iter()
                .map(|a| self.run(cmd, Target::Node(a), readonly, deadline)),
        )
        .await;
        let replies: Result<Vec<Value>> = replies.into_iter().collect();
        merge(how, replies?)
    }
}

/// Merges the replies of several nodes into one.
pub(super) fn merge(how: Merge, replies: Vec<Value>) -> Result<Value> {
    let shape = |v: &Value| Error::protocol(format!("cannot merge reply {v:?} with {how:?}"));
    match how {
        Merge::Sum => {
            let mut sum = 0i64;
            for v in &replies {
                sum = sum.saturating_add(v.as_int().ok_or_else(|| shape(v))?);
            }
            Ok(Value::Int(sum))
        }
        Merge::Concat => {
            let mut out = Vec::new();
            for v in replies {
                match v {
                    Value::Array(items) | Value::Set(items) => out.extend(items),
                    other => return Err(shape(&other)),
                }
            }
            Ok(Value::Array(out))
        }
        Merge::AllOk | Merge::AllSame => Ok(replies.into_iter().next().unwrap_or(Value::Nil)),
        Merge::AndArrays => {
            let mut acc: Option<Vec<i64>> = None;
            for v in &replies {
                let items = v.as_array().ok_or_else(|| shape(v))?;
                let ints: Option<Vec<i64>> = items.iter().map(Value::as_int).collect();
                let ints = ints.ok_or_else(|| shape(v))?;
                acc = Some(match acc {
                    None => ints,
                    Some(a) => a.iter().zip(&ints).map(|(x, y)| (*x).min(*y)).collect(),
                });
            }
            Ok(Value::Array(
                acc.unwrap_or_default()
                    .into_iter()
                    .map(Value::Int)
                    .collect(),
            ))
        }
    }
}
