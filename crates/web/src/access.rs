//! Who may use which route: one table, enforced by one middleware and walked by the route × role
//! test, so what the server does and what the test checks cannot drift apart.

use steward_service::{Capacity, Viewer};

/// Who a route is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not: sign-in itself, health, the stylesheet.
    Public,
    /// Anyone signed in (with the second factor passed).
    SignedIn,
    /// Anyone signed in holding one of these capacities.
    AnyOf(&'static [Capacity]),
}

/// One route the server answers.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    /// The route as the router spells it (`/findings/{key}`).
    pub path: &'static str,
    pub access: Access,
}

use Capacity::*;

/// Those who see the whole estate's compliance: read-only for the auditor.
const ESTATE: &[Capacity] = &[It, Governance, Auditor, Administrator];
/// Those who see the registers of people, assets and accounts.
const REGISTERS: &[Capacity] = &[It, Governance, Auditor, Administrator];

/// Those who set up and run connectors: the Connectors pages, every one of their forms.
const RUNS_CONNECTORS: &[Capacity] = &[It, Administrator];

/// Those who may raise requests and report incidents: anyone on the people register, and the IT
/// team and administrators on others' behalf.
const RAISERS: &[Capacity] = &[Staff, It, Administrator];

/// Those who act on anyone's behalf, finding the person by name, id or e-mail: whom a request is
/// for, whose equipment an incident concerns. Anyone else acts for themselves and, as a line
/// manager, their reports.
const ON_ANYONES_BEHALF: &[Capacity] = &[It, Administrator];

/// Whether `viewer` raises requests on anyone's behalf (see [`ON_ANYONES_BEHALF`]): the one
/// decision the request form's person picker takes.
pub fn acts_for_anyone(viewer: &Viewer) -> bool {
    ON_ANYONES_BEHALF.iter().any(|c| viewer.is(*c))
}

/// Those who may report anyone's equipment lost, stolen or damaged, as the service decides it
/// (`steward_workflow::may_mark_asset`: IT and governance, besides the holder and their line
/// manager): an administrator who is neither would be offered equipment the service then
/// refuses to let them report.
const MARK_ANYONES_EQUIPMENT: &[Capacity] = &[It, Governance];

/// Whether `viewer` chooses among everyone's equipment on the incident form.
pub fn reports_for_anyone(viewer: &Viewer) -> bool {
    MARK_ANYONES_EQUIPMENT.iter().any(|c| viewer.is(*c))
}

/// Every route. A route missing here is refused by the guard, whatever the router says.
pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/healthz",
        access: Access::Public,
    },
    // The details behind the public up-or-down: for those who run the service.
    RouteSpec {
        method: "GET",
        path: "/healthz/detail",
        access: Access::AnyOf(&[It, Auditor, Administrator]),
    },
    RouteSpec {
        method: "GET",
        path: "/static/steward.css",
        access: Access::Public,
    },
    RouteSpec {
        method: "GET",
        path: "/setup",
        access: Access::Public,
    },
    RouteSpec {
        method: "POST",
        path: "/setup",
        access: Access::Public,
    },
    RouteSpec {
        method: "GET",
        path: "/login",
        access: Access::Public,
    },
    RouteSpec {
        method: "POST",
        path: "/login",
        access: Access::Public,
    },
    // Single sign-on: sending the browser to the provider, and its coming back.
    RouteSpec {
        method: "POST",
        path: "/auth/{provider}",
        access: Access::Public,
    },
    RouteSpec {
        method: "GET",
        path: "/auth/{provider}/callback",
        access: Access::Public,
    },
    RouteSpec {
        method: "GET",
        path: "/mfa",
        access: Access::Public,
    },
    RouteSpec {
        method: "POST",
        path: "/mfa",
        access: Access::Public,
    },
    RouteSpec {
        method: "GET",
        path: "/mfa/enrol",
        access: Access::Public,
    },
    RouteSpec {
        method: "POST",
        path: "/mfa/enrol",
        access: Access::Public,
    },
    RouteSpec {
        method: "GET",
        path: "/",
        access: Access::SignedIn,
    },
    RouteSpec {
        method: "POST",
        path: "/logout",
        access: Access::SignedIn,
    },
    RouteSpec {
        method: "POST",
        path: "/logout/everywhere",
        access: Access::SignedIn,
    },
    // One's own password: anyone signed in.
    RouteSpec {
        method: "GET",
        path: "/account/password",
        access: Access::SignedIn,
    },
    // One's own API tokens (an administrator's: every token, and services').
    RouteSpec {
        method: "GET",
        path: "/account/tokens",
        access: Access::SignedIn,
    },
    RouteSpec {
        method: "POST",
        path: "/account/tokens",
        access: Access::SignedIn,
    },
    RouteSpec {
        method: "POST",
        path: "/account/tokens/revoke",
        access: Access::SignedIn,
    },
    RouteSpec {
        method: "POST",
        path: "/account/password",
        access: Access::SignedIn,
    },
    RouteSpec {
        method: "GET",
        path: "/me",
        access: Access::AnyOf(&[Staff]),
    },
    RouteSpec {
        method: "GET",
        path: "/team",
        access: Access::AnyOf(&[LineManager]),
    },
    RouteSpec {
        method: "GET",
        path: "/team/{id}",
        access: Access::AnyOf(&[LineManager]),
    },
    RouteSpec {
        method: "GET",
        path: "/dashboard",
        access: Access::AnyOf(ESTATE),
    },
    RouteSpec {
        method: "GET",
        path: "/findings",
        access: Access::AnyOf(ESTATE),
    },
    RouteSpec {
        method: "GET",
        path: "/findings.csv",
        access: Access::AnyOf(ESTATE),
    },
    RouteSpec {
        method: "GET",
        path: "/people",
        access: Access::AnyOf(REGISTERS),
    },
    RouteSpec {
        method: "GET",
        path: "/people.csv",
        access: Access::AnyOf(REGISTERS),
    },
    RouteSpec {
        method: "GET",
        path: "/policy",
        access: Access::SignedIn,
    },
    // Which policies the organisation runs: those who own the policy decide.
    RouteSpec {
        method: "POST",
        path: "/policy/packs",
        access: Access::AnyOf(&[Governance, Administrator]),
    },
    // A built-in pack copied as the organisation's own, to map and change.
    RouteSpec {
        method: "POST",
        path: "/policy/copy",
        access: Access::AnyOf(&[Governance, Administrator]),
    },
    // Who owns and approved the organisation's own pack, and its review date.
    RouteSpec {
        method: "POST",
        path: "/policy/details",
        access: Access::AnyOf(&[Governance, Administrator]),
    },
    // The organisation's values of the policies' parameters: those who own the policy.
    RouteSpec {
        method: "POST",
        path: "/policy/parameters",
        access: Access::AnyOf(&[Governance, Administrator]),
    },
    // And of its staff groups.
    RouteSpec {
        method: "POST",
        path: "/policy/staff-groups",
        access: Access::AnyOf(&[Governance, Administrator]),
    },
    // The organisation's own policy document made a pack: those who own the policy.
    RouteSpec {
        method: "GET",
        path: "/policy/import",
        access: Access::AnyOf(&[Governance, Administrator]),
    },
    RouteSpec {
        method: "POST",
        path: "/policy/import",
        access: Access::AnyOf(&[Governance, Administrator]),
    },
    // A clause of the organisation's own policy mapped to a library control: the governance
    // and IT teams.
    RouteSpec {
        method: "GET",
        path: "/policy/map",
        access: Access::AnyOf(&[It, Governance, Administrator]),
    },
    RouteSpec {
        method: "POST",
        path: "/policy/map",
        access: Access::AnyOf(&[It, Governance, Administrator]),
    },
    RouteSpec {
        method: "GET",
        path: "/admin/sign-ins",
        access: Access::AnyOf(&[Administrator]),
    },
    RouteSpec {
        method: "GET",
        path: "/assets",
        access: Access::AnyOf(REGISTERS),
    },
    RouteSpec {
        method: "GET",
        path: "/assets.csv",
        access: Access::AnyOf(REGISTERS),
    },
    RouteSpec {
        method: "GET",
        path: "/accounts",
        access: Access::AnyOf(REGISTERS),
    },
    RouteSpec {
        method: "GET",
        path: "/accounts.csv",
        access: Access::AnyOf(REGISTERS),
    },
    // Every register, listed and downloaded whole (`/registers/{name}.csv`).
    RouteSpec {
        method: "GET",
        path: "/registers",
        access: Access::AnyOf(REGISTERS),
    },
    RouteSpec {
        method: "GET",
        path: "/registers/{name}",
        access: Access::AnyOf(REGISTERS),
    },
    RouteSpec {
        method: "GET",
        path: "/register/{entity}/{id}",
        access: Access::AnyOf(REGISTERS),
    },
    RouteSpec {
        method: "POST",
        path: "/register/{entity}/{id}/{what}",
        access: Access::AnyOf(&[It, Administrator]),
    },
    RouteSpec {
        method: "POST",
        path: "/me/accept",
        access: Access::AnyOf(&[Staff]),
    },
    RouteSpec {
        method: "POST",
        path: "/me/exception",
        access: Access::AnyOf(&[Staff]),
    },
    RouteSpec {
        method: "POST",
        path: "/me/acknowledge",
        access: Access::AnyOf(&[Staff]),
    },
    RouteSpec {
        method: "POST",
        path: "/me/digest",
        access: Access::AnyOf(&[Staff]),
    },
    RouteSpec {
        method: "GET",
        path: "/team.csv",
        access: Access::AnyOf(&[LineManager]),
    },
    RouteSpec {
        method: "POST",
        path: "/admin/sign-ins",
        access: Access::AnyOf(&[Administrator]),
    },
    RouteSpec {
        method: "POST",
        path: "/incidents/{id}/handle",
        access: Access::AnyOf(&[It, Governance]),
    },
    // What falls due in the governance registers: recorded done by the IT and governance teams.
    RouteSpec {
        method: "GET",
        path: "/governance",
        access: Access::AnyOf(&[It, Governance, Auditor, Administrator]),
    },
    RouteSpec {
        method: "GET",
        path: "/governance.csv",
        access: Access::AnyOf(&[It, Governance, Auditor, Administrator]),
    },
    RouteSpec {
        method: "POST",
        path: "/governance/task-done",
        access: Access::AnyOf(&[It, Governance]),
    },
    RouteSpec {
        method: "POST",
        path: "/governance/dispose",
        access: Access::AnyOf(&[It, Governance]),
    },
    // Importing a register from pasted CSV, all or nothing.
    RouteSpec {
        method: "GET",
        path: "/import",
        access: Access::AnyOf(&[It, Administrator]),
    },
    RouteSpec {
        method: "POST",
        path: "/import",
        access: Access::AnyOf(&[It, Administrator]),
    },
    // A register's template (its header line), for those who import.
    RouteSpec {
        method: "GET",
        path: "/import/template/{register}",
        access: Access::AnyOf(&[It, Administrator]),
    },
    // The working-day calendar: anyone may look; the IT team and administrators load gov.uk's file.
    RouteSpec {
        method: "GET",
        path: "/calendar",
        access: Access::SignedIn,
    },
    RouteSpec {
        method: "POST",
        path: "/calendar",
        access: Access::AnyOf(&[It, Administrator]),
    },
    RouteSpec {
        method: "GET",
        path: "/policy/diff",
        access: Access::AnyOf(ESTATE),
    },
    // Cyber Essentials and ISO 27001 as the checks in force leave them.
    RouteSpec {
        method: "GET",
        path: "/policy/frameworks",
        access: Access::AnyOf(ESTATE),
    },
    RouteSpec {
        method: "GET",
        path: "/audit",
        access: Access::AnyOf(&[Governance, Auditor, Administrator]),
    },
    // Webhooks on screen: administrators', as on the API.
    RouteSpec {
        method: "GET",
        path: "/admin/webhooks",
        access: Access::AnyOf(&[Administrator]),
    },
    RouteSpec {
        method: "POST",
        path: "/admin/webhooks",
        access: Access::AnyOf(&[Administrator]),
    },
    RouteSpec {
        method: "GET",
        path: "/admin/webhooks/{id}",
        access: Access::AnyOf(&[Administrator]),
    },
    RouteSpec {
        method: "GET",
        path: "/admin/organisation",
        access: Access::AnyOf(&[Administrator]),
    },
    RouteSpec {
        method: "POST",
        path: "/admin/organisation",
        access: Access::AnyOf(&[Administrator]),
    },
    // One finding: the handler shows a person their own and a manager their reports'.
    RouteSpec {
        method: "GET",
        path: "/finding/{*key}",
        access: Access::SignedIn,
    },
    RouteSpec {
        method: "POST",
        path: "/exceptions",
        access: Access::AnyOf(&[It, Governance]),
    },
    RouteSpec {
        method: "POST",
        path: "/checks",
        access: Access::AnyOf(&[It, Governance, Administrator]),
    },
    // Connectors: set up, tested, synced, resolved and removed by those who run them.
    RouteSpec {
        method: "GET",
        path: "/connectors",
        access: Access::AnyOf(RUNS_CONNECTORS),
    },
    RouteSpec {
        method: "POST",
        path: "/connectors",
        access: Access::AnyOf(RUNS_CONNECTORS),
    },
    RouteSpec {
        method: "GET",
        path: "/connectors/{name}",
        access: Access::AnyOf(RUNS_CONNECTORS),
    },
    RouteSpec {
        method: "POST",
        path: "/connectors/{name}/test",
        access: Access::AnyOf(RUNS_CONNECTORS),
    },
    RouteSpec {
        method: "POST",
        path: "/connectors/{name}/sync",
        access: Access::AnyOf(RUNS_CONNECTORS),
    },
    RouteSpec {
        method: "POST",
        path: "/connectors/{name}/apply",
        access: Access::AnyOf(RUNS_CONNECTORS),
    },
    RouteSpec {
        method: "POST",
        path: "/connectors/{name}/file",
        access: Access::AnyOf(RUNS_CONNECTORS),
    },
    RouteSpec {
        method: "POST",
        path: "/connectors/{name}/mapping",
        access: Access::AnyOf(RUNS_CONNECTORS),
    },
    RouteSpec {
        method: "POST",
        path: "/connectors/{name}/mapping/preview",
        access: Access::AnyOf(RUNS_CONNECTORS),
    },
    RouteSpec {
        method: "POST",
        path: "/connectors/{name}/mapping/save",
        access: Access::AnyOf(RUNS_CONNECTORS),
    },
    RouteSpec {
        method: "POST",
        path: "/connectors/{name}/resolve",
        access: Access::AnyOf(RUNS_CONNECTORS),
    },
    RouteSpec {
        method: "POST",
        path: "/connectors/{name}/remove",
        access: Access::AnyOf(RUNS_CONNECTORS),
    },
    // Jobs: anyone signed in sees their own (the IT team and administrators every one); the
    // requester or an administrator cancels. The service decides which.
    RouteSpec {
        method: "GET",
        path: "/jobs",
        access: Access::SignedIn,
    },
    RouteSpec {
        method: "GET",
        path: "/jobs/{id}",
        access: Access::SignedIn,
    },
    RouteSpec {
        method: "POST",
        path: "/jobs/{id}/cancel",
        access: Access::SignedIn,
    },
    // Every problem an import found, as CSV: to whoever may see the job.
    RouteSpec {
        method: "GET",
        path: "/jobs/{id}/errors.csv",
        access: Access::SignedIn,
    },
    // Requests and incidents: each handler shows a viewer only their own, their reports' or (for
    // the IT and governance teams, auditors and administrators) everyone's.
    RouteSpec {
        method: "GET",
        path: "/requests",
        access: Access::SignedIn,
    },
    RouteSpec {
        method: "GET",
        path: "/requests.csv",
        access: Access::SignedIn,
    },
    RouteSpec {
        method: "GET",
        path: "/requests/new",
        access: Access::AnyOf(RAISERS),
    },
    RouteSpec {
        method: "POST",
        path: "/requests",
        access: Access::AnyOf(RAISERS),
    },
    RouteSpec {
        method: "GET",
        path: "/requests/{id}",
        access: Access::SignedIn,
    },
    RouteSpec {
        method: "POST",
        path: "/requests/{id}/{action}",
        access: Access::AnyOf(&[Staff]),
    },
    RouteSpec {
        method: "GET",
        path: "/incidents",
        access: Access::SignedIn,
    },
    RouteSpec {
        method: "GET",
        path: "/incidents.csv",
        access: Access::SignedIn,
    },
    RouteSpec {
        method: "GET",
        path: "/incidents/new",
        access: Access::AnyOf(&[Staff]),
    },
    RouteSpec {
        method: "POST",
        path: "/incidents",
        access: Access::AnyOf(&[Staff]),
    },
    RouteSpec {
        method: "GET",
        path: "/incidents/{id}",
        access: Access::SignedIn,
    },
    RouteSpec {
        method: "POST",
        path: "/incidents/{id}/acknowledge",
        access: Access::AnyOf(&[Staff]),
    },
];

/// The forms that upload a file (posted as `multipart/form-data`, with a larger body allowed):
/// a register's CSV, gov.uk's bank holidays, a connector's settings (a Google service account's
/// key file), a connector's portal export or mapped CSV file, and a mapped CSV connector's
/// sample file with the forms that carry it on (`…/mapping`), and a policy document
/// (`/policy/import`). Every other form is
/// url-encoded and small. A route added here also needs the upload body limit in `router` and a
/// handler that takes a `session::UploadForm`, which checks the CSRF token inside the body.
pub fn takes_files(route: &RouteSpec) -> bool {
    route.method == "POST"
        && matches!(
            route.path,
            "/import"
                | "/policy/import"
                | "/calendar"
                | "/connectors"
                | "/connectors/{name}/file"
                | "/connectors/{name}/mapping"
                | "/connectors/{name}/mapping/preview"
                | "/connectors/{name}/mapping/save"
        )
}

/// The spec of a route, by method and the router's path.
pub fn route(method: &str, path: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

/// Whether `viewer` may use a route with `access`. The auditor reads everything it may see and
/// changes nothing: a state-changing method is refused unless another capacity allows it.
pub fn allows(access: Access, method: &str, viewer: &Viewer) -> bool {
    let writes = method != "GET" && method != "HEAD";
    match access {
        Access::Public => true,
        Access::SignedIn => true,
        Access::AnyOf(capacities) => capacities
            .iter()
            .filter(|c| !(writes && **c == Auditor))
            .any(|c| viewer.is(*c)),
    }
}
