//! The check engine: a pack's check controls, compiled once with the organisation's effective
//! parameters, evaluated over an estate, producing findings that cite their clause.
//!
//! It owns scope (which subjects a control looks at), the outcome for each subject (passes,
//! fires, out of scope), and the finding a failure becomes: message (and the second-person
//! `message_you`, where the control has one) with its placeholders filled,
//! the clause quoted, the evidence that triggered it, who acts and by when.
//!
//! It must never do I/O or read the clock (the time of the run is passed in), and never decide a
//! finding's lifecycle across runs: storing findings, "failing since" and exceptions are the
//! store's and the service's.

pub mod diff;
mod scope;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use steward_model::{Evidence, EvidencePaths, Finding, Shared, Subject, side_by_side};
use steward_policy::{Control, ControlKind, MessagePart, Pack, ParamValue, Severity, typecheck};
use steward_rules::{CompileError, Data, Kind, Program, Reads};

/// A control that cannot be compiled: a pack that loaded should never produce one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pack}: control {control}: {what}: {message}")]
pub struct EngineError {
    pub pack: String,
    pub control: String,
    /// `rule`, `scope`, `message`, `message_you` or `evidence`.
    pub what: &'static str,
    pub message: String,
}

/// What a control says about one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    OutOfScope,
    Passes,
    Fires,
    /// The rule could not be decided (unknown data): reported as a finding, with the reason.
    Undecided(String),
}

/// One piece of a message: text as written, or a `{path}` filled from the subject.
enum Piece {
    Text(String),
    /// A value, and the words that stand in when it is not recorded (`{path|words}`).
    Path(Program, Option<String>),
}

/// What a placeholder shows for a value that is not recorded, where its message gives no words
/// of its own: never nothing, so that no message reads "held by  ()".
pub const NOT_RECORDED: &str = "not recorded";

/// A check control compiled; the text its findings all say alike is held once and shared.
struct CompiledCheck {
    pack: Shared,
    version: Shared,
    clause: Shared,
    clause_text: Shared,
    control: Shared,
    kind: Kind,
    scope: Option<Program>,
    rule: Program,
    severity: Shared,
    /// The severity, for ordering.
    rank: Severity,
    who_acts: Shared,
    grace_days: u32,
    message: Vec<Piece>,
    message_you: Option<Vec<Piece>>,
    /// In order and each once, as a finding's [`Evidence`] keeps them.
    evidence_paths: EvidencePaths,
    /// Each of `evidence_paths`' program, in its order.
    evidence: Vec<Program>,
    /// The fields its scope, rule, messages and evidence read.
    reads: Reads,
}

/// One check control's run: the subjects in its scope and the findings about those failing.
#[derive(Debug)]
pub struct ControlRun {
    pub pack: String,
    pub clause: String,
    pub control: String,
    /// The kind of record it checks.
    pub kind: Kind,
    /// The subjects in scope (each checked), as indices into `Data`'s records of `kind`.
    pub checked: Vec<u32>,
    /// The findings about the subjects that fail (or cannot be decided), ordered by subject.
    pub findings: Vec<Finding>,
}

/// In what order [`Engine::each_run`] hands runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOrder {
    /// As [`Engine::evaluate`] lists them: by pack and clause order.
    Packs,
    /// The most severe controls' first (a list sorted by severity can then be written as it
    /// comes), and otherwise as [`RunOrder::Packs`].
    MostSevereFirst,
}

/// Every check control of a set of packs, ready to run.
pub struct Engine {
    /// Shared, so that a run of some of them ([`Engine::touched_by`]) needs no second compile.
    checks: Vec<Arc<CompiledCheck>>,
}

/// The moment a run evaluates at: `now`, and the organisation's calendar date.
#[derive(Debug, Clone, Copy)]
pub struct At {
    pub now: DateTime<Utc>,
    /// Today in the organisation's time zone.
    pub today: NaiveDate,
}

impl At {
    fn micros(&self) -> (i64, i64) {
        let today = self
            .today
            .and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp_micros());
        (self.now.timestamp_micros(), today)
    }
}

impl Engine {
    /// Compiles the checks of `packs`, each with its effective parameters.
    pub fn new(packs: &[(&Pack, Vec<(String, ParamValue)>)]) -> Result<Engine, Vec<EngineError>> {
        let mut checks = Vec::new();
        let mut errors = Vec::new();
        for (pack, params) in packs {
            for clause in &pack.clauses {
                for control in &clause.controls {
                    match compile_check(pack, &clause.text, control, params) {
                        Ok(Some(check)) => checks.push(Arc::new(check)),
                        Ok(None) => {}
                        Err(mut e) => errors.append(&mut e),
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(Engine { checks })
        } else {
            Err(errors)
        }
    }

    /// One control of one pack alone, as its test cases run it.
    pub fn only(
        pack: &Pack,
        control: &str,
        params: Vec<(String, ParamValue)>,
    ) -> Result<Engine, Vec<EngineError>> {
        let mut checks = Vec::new();
        for clause in &pack.clauses {
            for c in clause.controls.iter().filter(|c| c.id == control) {
                checks.extend(compile_check(pack, &clause.text, c, &params)?.map(Arc::new));
            }
        }
        Ok(Engine { checks })
    }

    /// The fields of the estate the checks read: an estate laid out with these alone
    /// ([`Data::from_registers_reading`]) gives the same findings as the whole.
    pub fn reads(&self) -> Reads {
        let mut reads = Reads::default();
        for check in &self.checks {
            reads.add(&check.reads);
        }
        reads
    }

    /// The checks that read a field `changed` names: those whose findings a change to those
    /// fields (and nothing else) can move. The others give what they gave before it, but for
    /// the time passing.
    pub fn touched_by(&self, changed: &Reads) -> Engine {
        Engine {
            checks: self
                .checks
                .iter()
                .filter(|c| c.reads.meets(changed))
                .cloned()
                .collect(),
        }
    }

    /// Each check: its pack, its control, the kind of its subjects and what it reads (the
    /// relations it follows among it): what a run over the subjects a change moved walks
    /// ([`Reads::subjects_moved`]).
    pub fn checks(&self) -> impl Iterator<Item = (&str, &str, Kind, &Reads)> {
        self.checks
            .iter()
            .map(|c| (&*c.pack, &*c.control, c.kind, &c.reads))
    }

    /// The ids of the check controls, in the order they run.
    pub fn controls(&self) -> impl Iterator<Item = &str> {
        self.checks.iter().map(|c| &*c.control)
    }

    /// How many check controls will run.
    pub fn len(&self) -> usize {
        self.checks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// Every check over every subject: the findings, ordered by pack, clause order and subject.
    pub fn evaluate(&self, data: &Data, at: At) -> Vec<Finding> {
        self.batches(data, at)
            .flat_map(|run| run.findings)
            .collect()
    }

    /// The same findings one control at a time, each check evaluated only when the next is asked
    /// for, with the subjects it checked. A run that records as it goes holds one control's
    /// findings, never the whole run's.
    pub fn batches<'a>(&'a self, data: &'a Data, at: At) -> impl Iterator<Item = ControlRun> + 'a {
        self.checks
            .iter()
            .map(move |check| self.run(check, data, at))
    }

    /// [`Engine::batches`] handed to `consume` as an iterator whose next controls are evaluated
    /// on another thread while the caller works on the ones it has: a run that records each
    /// control in the database keeps a second core evaluating meanwhile. The evaluation runs
    /// ahead by up to `ahead` findings not yet taken (always by one control, however many it
    /// has), so memory holds the control being worked on and at most that many more findings.
    /// The iterator may be left unfinished: the thread then stops after the control it is on.
    pub fn batches_ahead<R>(
        &self,
        data: &Data,
        at: At,
        ahead: usize,
        consume: impl FnOnce(&mut dyn Iterator<Item = ControlRun>) -> R,
    ) -> R {
        let held = Held::default();
        std::thread::scope(|scope| {
            // `None` marks the end: a thread that stops without it has panicked.
            let (send, evaluated) = std::sync::mpsc::channel::<Option<ControlRun>>();
            let held = &held;
            let evaluating = scope.spawn(move || {
                for run in self.batches(data, at) {
                    if !held.take_on(run.findings.len(), ahead) || send.send(Some(run)).is_err() {
                        // The consumer is done (or abandoned the run): nothing more to do.
                        return;
                    }
                }
                // The consumer may be gone already; then nobody needs telling.
                let _ = send.send(None);
            });
            let mut runs = Taken {
                runs: evaluated.into_iter(),
                held,
            };
            let result = consume(&mut runs);
            // Closed before the join, so a thread waiting to run further ahead stops.
            held.close();
            drop(runs);
            if let Err(panic) = evaluating.join() {
                std::panic::resume_unwind(panic);
            }
            result
        })
    }

    /// Every control's run, as [`Engine::batches`] gives them, evaluated on up to `threads`
    /// threads at once (controls are independent and `Data` is only read); in the same order.
    pub fn runs(&self, data: &Data, at: At, threads: usize) -> Vec<ControlRun> {
        self.runs_of(
            self.checks.iter().map(|c| &**c).collect(),
            data,
            at,
            threads,
        )
    }

    /// The same runs handed to `visit` in `order`, a few controls at a time (four times
    /// `threads`), so that only those controls' findings are held at once: for a caller that
    /// writes each run out and lets it go. The next few controls are evaluated while `visit` is
    /// given the last few's runs: writing out 400,000 findings would otherwise leave every core
    /// but one idle for as long as it takes.
    pub fn each_run(
        &self,
        data: &Data,
        at: At,
        threads: usize,
        order: RunOrder,
        mut visit: impl FnMut(ControlRun),
    ) {
        let mut checks: Vec<&CompiledCheck> = self.checks.iter().map(|c| &**c).collect();
        if order == RunOrder::MostSevereFirst {
            checks.sort_by_key(|c| std::cmp::Reverse(c.rank));
        }
        let windows: Vec<Vec<&CompiledCheck>> = checks
            .chunks(threads.max(1) * 4)
            .map(<[&CompiledCheck]>::to_vec)
            .collect();
        std::thread::scope(|scope| {
            // Handed over, not queued: at most one window being evaluated beside the one being
            // visited.
            let (send, evaluated) = std::sync::mpsc::sync_channel::<Vec<ControlRun>>(0);
            let evaluating = scope.spawn(move || {
                for window in windows {
                    if send.send(self.runs_of(window, data, at, threads)).is_err() {
                        // `visit` panicked: nobody is left to hand runs to.
                        return;
                    }
                }
            });
            for runs in evaluated {
                for run in runs {
                    visit(run);
                }
            }
            if let Err(panic) = evaluating.join() {
                std::panic::resume_unwind(panic);
            }
        });
    }

    fn runs_of(
        &self,
        checks: Vec<&CompiledCheck>,
        data: &Data,
        at: At,
        threads: usize,
    ) -> Vec<ControlRun> {
        side_by_side::map(checks, threads, side_by_side::in_order, |check| {
            self.run(check, data, at)
        })
    }

    /// One control over every subject of its kind.
    fn run(&self, check: &CompiledCheck, data: &Data, at: At) -> ControlRun {
        let mut checked = Vec::new();
        // The subjects that fail first, then their findings: the list is made at its size once
        // (a finding is a few hundred bytes, moved on every doubling), and one buffer serves
        // every message.
        let mut failing: Vec<(u32, Option<String>)> = Vec::new();
        decide(check, data, at, |i, outcome| match outcome {
            Outcome::OutOfScope => {}
            Outcome::Passes => checked.push(i),
            Outcome::Fires => {
                checked.push(i);
                failing.push((i, None));
            }
            Outcome::Undecided(reason) => {
                checked.push(i);
                failing.push((i, Some(reason)));
            }
        });
        let mut scratch = String::new();
        let mut findings = Vec::with_capacity(failing.len());
        // What every finding of the control says alike, reckoned once.
        let alike = Alike {
            at: at.micros(),
            due: at
                .today
                .checked_add_days(chrono::Days::new(u64::from(check.grace_days))),
        };
        for (i, undecided) in failing {
            findings.push(self.finding(check, data, i, &alike, undecided, &mut scratch));
        }
        ControlRun {
            pack: check.pack.to_string(),
            clause: check.clause.to_string(),
            control: check.control.to_string(),
            kind: check.kind,
            checked,
            findings,
        }
    }

    /// Each subject's outcome under one control, by subject id: for tests and "why" pages. The
    /// same decisions `evaluate` makes.
    pub fn outcomes(
        &self,
        control: &str,
        data: &Data,
        at: At,
    ) -> Option<BTreeMap<String, Outcome>> {
        let check = self.checks.iter().find(|c| &*c.control == control)?;
        let mut out = BTreeMap::new();
        decide(check, data, at, |i, outcome| {
            out.insert(data.id(check.kind, i).to_owned(), outcome);
        });
        Some(out)
    }

    fn finding(
        &self,
        check: &CompiledCheck,
        data: &Data,
        i: u32,
        alike: &Alike,
        undecided: Option<String>,
        scratch: &mut String,
    ) -> Finding {
        let (now, today) = alike.at;
        // Filled into `scratch`, then copied out at its length: a message grown in place would
        // be moved at every doubling.
        let mut fill = |pieces: &[Piece]| -> String {
            let out = &mut *scratch;
            out.clear();
            for piece in pieces {
                match piece {
                    Piece::Text(t) => out.push_str(t),
                    Piece::Path(p, instead) => {
                        let start = out.len();
                        // Not decided shows as not recorded, like a value that is not.
                        let _ = p.display_into(data, i, now, today, out);
                        if out[start..].trim().is_empty() {
                            out.truncate(start);
                            out.push_str(instead.as_deref().unwrap_or(NOT_RECORDED));
                        }
                    }
                }
            }
            out.as_str().to_owned()
        };
        let message = fill(&check.message);
        let message_you = check.message_you.as_deref().map(&mut fill);
        // Every value shown into the one buffer, then copied out in one piece: a value per
        // allocation, each grown in place from nothing, was a dozen allocations a finding.
        let evidence =
            Evidence::written(&check.evidence_paths, &check.evidence, scratch, |p, out| {
                // Not decided shows as nothing, as before.
                let start = out.len();
                if p.display_into(data, i, now, today, out).is_err() {
                    out.truncate(start);
                }
            });
        Finding {
            pack: check.pack.clone(),
            version: check.version.clone(),
            clause: check.clause.clone(),
            control: check.control.clone(),
            subject: Subject {
                kind: check.kind.name().into(),
                id: data.id(check.kind, i).to_owned(),
            },
            severity: check.severity.clone(),
            message,
            message_you,
            clause_text: check.clause_text.clone(),
            evidence,
            who_acts: check.who_acts.clone(),
            due: alike.due,
            undecided,
        }
    }
}

/// What every finding of one control's run says alike, reckoned once for the run.
struct Alike {
    /// The run's moment and day, as rules take them ([`At::micros`]).
    at: (i64, i64),
    due: Option<NaiveDate>,
}

/// Every subject's outcome under one check: the scope over every subject first (a scope that
/// cannot be decided leaves the subject out), then the rule over those in scope.
fn decide(check: &CompiledCheck, data: &Data, at: At, mut each: impl FnMut(u32, Outcome)) {
    debug_assert!(
        data.lays_out(&check.reads),
        "{} reads fields the estate was laid out without",
        check.control
    );
    let (now, today) = at.micros();
    let all = 0..data.count(check.kind) as u32;
    let mut in_scope = Vec::with_capacity(all.len());
    match &check.scope {
        Some(scope) => scope.evaluate_each(data, all, now, today, |i, r| {
            if r == Ok(true) {
                in_scope.push(i);
            } else {
                each(i, Outcome::OutOfScope);
            }
        }),
        None => in_scope.extend(all),
    }
    check
        .rule
        .evaluate_each(data, in_scope, now, today, |i, r| {
            each(
                i,
                match r {
                    Ok(true) => Outcome::Passes,
                    Ok(false) => Outcome::Fires,
                    Err(e) => Outcome::Undecided(e.to_string()),
                },
            )
        });
}

fn compile_check(
    pack: &Pack,
    clause_text: &str,
    control: &Control,
    params: &[(String, ParamValue)],
) -> Result<Option<CompiledCheck>, Vec<EngineError>> {
    let ControlKind::Check(check) = &control.kind else {
        return Ok(None);
    };
    let error = |what: &'static str, e: CompileError| EngineError {
        pack: pack.id.clone(),
        control: control.id.clone(),
        what,
        message: e.message,
    };
    let Some(kind) = typecheck::kind(check.subject) else {
        return Err(vec![error(
            "rule",
            CompileError::new(format!("{} cannot be a subject", check.subject.name())),
        )]);
    };
    let mut errors = Vec::new();
    let rule = steward_rules::compile(&check.rule.text, kind, params).map_err(|e| error("rule", e));
    let scope = match scope::expression(kind, &check.scope) {
        Some(text) => steward_rules::compile(&text, kind, params)
            .map(Some)
            .map_err(|e| error("scope", e)),
        None => Ok(None),
    };
    let mut pieces = |text: &str, what: &'static str| {
        let mut out = Vec::new();
        // The loader has refused a message whose braces do not parse.
        for part in steward_policy::message_parts(text).0 {
            match part {
                MessagePart::Text(text) => out.push(Piece::Text(text)),
                MessagePart::Value { path, instead } => {
                    match steward_rules::compile_expression(&path, kind, params) {
                        Ok(p) => out.push(Piece::Path(p, instead)),
                        Err(e) => errors.push(error(what, e)),
                    }
                }
            }
        }
        out
    };
    let message = pieces(&check.message, "message");
    let message_you = check
        .message_you
        .as_deref()
        .map(|m| pieces(m, "message_you"));
    let mut evidence = Vec::new();
    for path in &check.evidence {
        match steward_rules::compile_expression(path, kind, params) {
            Ok(p) => evidence.push((Shared::from(path.as_str()), p)),
            Err(e) => errors.push(error("evidence", e)),
        }
    }
    // In the paths' order, each once (a path listed twice is one program, as it is one value).
    evidence.sort_by(|a, b| a.0.cmp(&b.0));
    evidence.dedup_by(|a, b| a.0 == b.0);
    let (paths, evidence): (Vec<Shared>, Vec<Program>) = evidence.into_iter().unzip();
    let evidence_paths = EvidencePaths::new(paths);
    let (rule, scope) = match (rule, scope) {
        (Ok(rule), Ok(scope)) if errors.is_empty() => (rule, scope),
        (rule, scope) => {
            errors.extend(rule.err());
            errors.extend(scope.err());
            return Err(errors);
        }
    };
    let mut reads = rule.reads().clone();
    let programs = scope.iter().chain(evidence.iter()).chain(
        message
            .iter()
            .chain(message_you.iter().flatten())
            .filter_map(|piece| match piece {
                Piece::Path(p, _) => Some(p),
                Piece::Text(_) => None,
            }),
    );
    for program in programs {
        reads.add(program.reads());
    }
    Ok(Some(CompiledCheck {
        pack: pack.id.as_str().into(),
        version: pack.version.as_str().into(),
        clause: control.clause.as_str().into(),
        clause_text: clause_text.into(),
        control: control.id.as_str().into(),
        kind,
        scope,
        rule,
        severity: control.severity.as_str().into(),
        rank: control.severity,
        who_acts: control.who_acts.as_str().into(),
        grace_days: control.grace_days,
        message,
        message_you,
        evidence_paths,
        evidence,
        reads,
    }))
}

/// The findings evaluated ahead and not yet taken ([`Engine::batches_ahead`]), and whether the
/// taker has stopped taking.
#[derive(Default)]
struct Held {
    state: std::sync::Mutex<HeldState>,
    changed: std::sync::Condvar,
}

#[derive(Default)]
struct HeldState {
    /// Findings handed over and not yet taken.
    findings: usize,
    /// Whether the taker has stopped taking.
    closed: bool,
}

impl Held {
    /// Waits until `findings` more may be held (at once when none are), and counts them held;
    /// `false` once the taker has stopped.
    fn take_on(&self, findings: usize, ahead: usize) -> bool {
        // A poisoned lock means the taker panicked: stop, as when it stops taking.
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        while !state.closed && state.findings > 0 && state.findings.saturating_add(findings) > ahead
        {
            match self.changed.wait(state) {
                Ok(next) => state = next,
                Err(_) => return false,
            }
        }
        state.findings = state.findings.saturating_add(findings);
        !state.closed
    }

    fn taken(&self, findings: usize) {
        if let Ok(mut state) = self.state.lock() {
            state.findings = state.findings.saturating_sub(findings);
        }
        self.changed.notify_all();
    }

    fn close(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.closed = true;
        }
        self.changed.notify_all();
    }
}

/// The runs as they are taken, each let go of in [`Held`].
struct Taken<'h> {
    runs: std::sync::mpsc::IntoIter<Option<ControlRun>>,
    held: &'h Held,
}

impl Iterator for Taken<'_> {
    type Item = ControlRun;

    /// The next run; `None` once every control has been. Where the evaluating thread stopped
    /// before the end (it panicked), this panics too: ending quietly would let a recorded run
    /// commit as if the controls not evaluated had found nothing, resolving their findings.
    fn next(&mut self) -> Option<ControlRun> {
        let Some(next) = self.runs.next() else {
            panic!("evaluating the checks stopped before the last control");
        };
        let run = next?;
        self.held.taken(run.findings.len());
        Some(run)
    }
}

#[cfg(test)]
mod tests {
    use super::Held;

    #[test]
    fn runs_that_stop_before_their_end_are_not_taken_for_the_whole() {
        let held = Held::default();
        let (send, runs) = std::sync::mpsc::channel();
        drop(send);
        let mut taken = super::Taken {
            runs: runs.into_iter(),
            held: &held,
        };
        let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| taken.next()));
        assert!(ended.is_err(), "an evaluation that died is not an end");
        // With the end marked, the same is an ordinary end.
        let (send, runs) = std::sync::mpsc::channel();
        let _ = send.send(None);
        let mut taken = super::Taken {
            runs: runs.into_iter(),
            held: &held,
        };
        assert!(taken.next().is_none());
    }

    #[test]
    fn a_control_is_let_ahead_whatever_its_size_when_nothing_is_held() {
        let held = Held::default();
        assert!(held.take_on(500, 10), "nothing held: one control goes");
        held.taken(500);
        assert!(held.take_on(4, 10));
        assert!(held.take_on(6, 10), "up to the limit");
    }

    #[test]
    fn beyond_the_limit_the_evaluation_waits_for_the_taker() {
        let held = Held::default();
        assert!(held.take_on(8, 10));
        // The second control waits until the first is taken, then goes.
        let went = std::thread::scope(|scope| {
            let waiting = scope.spawn(|| held.take_on(8, 10));
            held.taken(8);
            waiting.join().unwrap_or(false)
        });
        assert!(went);
        // Once the taker stops, a waiting evaluation stops too, told so.
        let went = std::thread::scope(|scope| {
            let waiting = scope.spawn(|| held.take_on(8, 10));
            held.close();
            waiting.join().unwrap_or(true)
        });
        assert!(!went);
        assert!(!held.take_on(1, 10), "and nothing goes after");
    }
}
