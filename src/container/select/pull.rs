//! `--pull`: the chosen registry image through the host's engine, then inspected and judged
//! again (a registry can serve something else than its manifest said).

use super::{local, Candidate, PullResult, SelectReporter};
use crate::container::rules::HostFacts;
use crate::context::Context;

pub fn pull_and_recheck(
    ctx: &Context,
    host: &HostFacts,
    c: &Candidate,
    platform: &str,
    reporter: &dyn SelectReporter,
) -> PullResult {
    reporter.pull_started(&c.reference, c.layers);
    let result = ctx.host.docker().and_then(|docker| {
        docker.pull(&c.reference, Some(platform), &|line: &str| reporter.pull_line(line))?;
        local::inspect_one(docker, &c.reference)
    });
    reporter.pull_finished(result.is_ok());
    let mut pull = PullResult {
        reference: c.reference.clone(),
        platform: platform.to_string(),
        ok: result.is_ok(),
        error: None,
        recheck: None,
    };
    match result {
        Ok(Some(inspect)) => {
            let pulled = super::CandidateRef::new(c.reference.clone(), "pulled");
            pull.recheck = Some(local::judge(host, &ctx.knowledge, &pulled, &inspect));
        }
        Ok(None) => {
            pull.error = Some(format!(
                "`docker pull` succeeded but `docker image inspect {}` finds no image",
                c.reference
            ))
        }
        Err(e) => pull.error = Some(e.to_string()),
    }
    pull
}
