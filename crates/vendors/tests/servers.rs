//! Each stand-in over real HTTP with a real client: tokens issued and refused, every page walked,
//! every fault fired, refusals in the vendor's own shape.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};
use std::collections::HashSet;
use steward_vendors::{
    Credentials, DeviceKind, DeviceStatus, Faults, Os, Ownership, Server, TEST_CLIENT_EMAIL,
    TEST_PRIVATE_KEY_PEM, Tenant,
};

const TENANT: &str = "contoso.onmicrosoft.com";
const ADMIN: &str = "ada.lovelace@example.org";

fn client() -> Client {
    Client::builder().build().expect("client")
}

fn body(r: Response) -> Value {
    let text = r.text().expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

// ---------------------------------------------------------------------------------------------
// Microsoft Graph

fn graph(tenant: Tenant, faults: Faults) -> Server {
    Server::microsoft_graph(
        tenant,
        faults,
        Credentials::microsoft(TENANT, "app-id", "s3cret"),
    )
    .expect("graph stand-in")
}

fn graph_token(c: &Client, server: &Server) -> String {
    let r = c
        .post(format!("{}/{TENANT}/oauth2/v2.0/token", server.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app-id"),
            ("client_secret", "s3cret"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .expect("token request");
    assert_eq!(r.status(), 200);
    let v = body(r);
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["expires_in"].as_u64().is_some() && v["ext_expires_in"].as_u64().is_some());
    v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// Follows `@odata.nextLink` to the end; every page's records.
fn graph_walk(c: &Client, token: &str, first: String) -> (Vec<Value>, usize, Value) {
    let mut url = first;
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let r = c.get(&url).bearer_auth(token).send().expect("page");
        assert_eq!(r.status(), 200, "{url}");
        let v = body(r);
        pages += 1;
        items.extend(v["value"].as_array().expect("value").iter().cloned());
        match v["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => return (items, pages, v),
        }
    }
}

#[test]
fn graph_issues_tokens_only_for_the_right_client_and_refuses_as_entra_does() {
    let server = graph(Tenant::generate(5, 5, 1), Faults::default());
    let c = client();
    let url = |tenant: &str| format!("{}/{tenant}/oauth2/v2.0/token", server.base_url());
    let token = graph_token(&c, &server);
    assert!(!token.is_empty());

    let wrong_secret = c
        .post(url(TENANT))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app-id"),
            ("client_secret", "guess"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .unwrap();
    assert_eq!(wrong_secret.status(), 401);
    let v = body(wrong_secret);
    assert_eq!(v["error"], "invalid_client");
    assert_eq!(v["error_codes"], json!([7000215]));
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215:")
    );

    let unknown_app = c
        .post(url(TENANT))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "other-app"),
            ("client_secret", "s3cret"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .unwrap();
    assert_eq!(unknown_app.status(), 400);
    assert_eq!(body(unknown_app)["error"], "unauthorized_client");

    let other_tenant = c
        .post(url("fabrikam.onmicrosoft.com"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app-id"),
            ("client_secret", "s3cret"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .unwrap();
    assert_eq!(other_tenant.status(), 400);
    assert_eq!(body(other_tenant)["error_codes"], json!([90002]));

    let bad_scope = c
        .post(url(TENANT))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app-id"),
            ("client_secret", "s3cret"),
            ("scope", "User.Read.All"),
        ])
        .send()
        .unwrap();
    assert_eq!(bad_scope.status(), 400);
    assert_eq!(body(bad_scope)["error"], "invalid_scope");

    let anonymous = c
        .get(format!("{}/v1.0/users", server.base_url()))
        .send()
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        body(anonymous)["error"]["code"],
        "InvalidAuthenticationToken"
    );
    let forged = c
        .get(format!("{}/v1.0/users", server.base_url()))
        .bearer_auth("not-a-token")
        .send()
        .unwrap();
    assert_eq!(forged.status(), 401);

    let log = server.requests();
    assert_eq!(log.len(), 7);
    assert!(log[0].method == "POST" && log[0].status == 200 && !log[0].authorization);
    assert!(log[6].path.starts_with("/v1.0/users") && log[6].authorization && log[6].status == 401);
}

#[test]
fn graph_users_pages_see_every_user_once_with_select_and_manager() {
    let tenant = Tenant::generate(250, 10, 3);
    let expected: HashSet<String> = tenant.users.iter().map(|u| u.id.clone()).collect();
    let managers: usize = tenant
        .users
        .iter()
        .filter(|u| u.manager_id.is_some())
        .count();
    let server = graph(tenant, Faults::default());
    let c = client();
    let token = graph_token(&c, &server);
    let first = format!(
        "{}/v1.0/users?$top=60&$select=id,userPrincipalName,accountEnabled,employeeLeaveDateTime&$expand=manager($select=id,userPrincipalName)",
        server.base_url()
    );
    let (items, pages, last) = graph_walk(&c, &token, first);
    assert_eq!(pages, 5); // 60 + 60 + 60 + 60 + 10
    assert!(
        last["@odata.context"].as_str().unwrap().ends_with(
            "$metadata#users(id,userPrincipalName,accountEnabled,employeeLeaveDateTime)"
        )
    );
    let ids: Vec<String> = items
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 250);
    assert_eq!(ids.iter().cloned().collect::<HashSet<_>>(), expected);
    let with_manager = items.iter().filter(|u| u.get("manager").is_some()).count();
    assert_eq!(with_manager, managers);
    for u in &items {
        let keys: HashSet<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
        assert!(keys.is_subset(&HashSet::from([
            "id",
            "userPrincipalName",
            "accountEnabled",
            "employeeLeaveDateTime",
            "manager"
        ])));
        if let Some(m) = u.get("manager") {
            assert_eq!(m["@odata.type"], "#microsoft.graph.user");
            assert!(
                m["userPrincipalName"]
                    .as_str()
                    .unwrap()
                    .ends_with("@example.org")
            );
        }
    }
    // A property Graph's user does not have is refused as Graph refuses it.
    let r = c
        .get(format!(
            "{}/v1.0/users?$select=id,shoeSize",
            server.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(body(r)["error"]["code"], "Request_BadRequest");
    let r = c
        .get(format!("{}/v1.0/users?$top=1000", server.base_url()))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[test]
fn graph_delta_returns_only_what_changed_after_the_delta_link() {
    let server = graph(Tenant::generate(300, 50, 5), Faults::default());
    let c = client();
    let token = graph_token(&c, &server);
    let first = format!(
        "{}/v1.0/users/delta?$select=displayName,accountEnabled,department,manager",
        server.base_url()
    );
    let (items, pages, last) = graph_walk(&c, &token, first);
    assert_eq!(pages, 3);
    assert_eq!(items.len(), 300);
    assert!(items.iter().all(|u| u.get("@removed").is_none()));
    let delta_link = last["@odata.deltaLink"]
        .as_str()
        .expect("deltaLink")
        .to_string();
    assert!(delta_link.contains("$deltatoken="));

    // Nothing changed: the delta link answers nothing.
    let (none, _, again) = graph_walk(&c, &token, delta_link.clone());
    assert!(none.is_empty());

    let shared = server.tenant();
    let (changed, deleted) = {
        let mut t = shared.lock().unwrap();
        let before: HashSet<String> = t.users.iter().map(|u| u.id.clone()).collect();
        t.change(0.05, 11);
        let now = t.now;
        let changed: HashSet<String> = t
            .users
            .iter()
            .filter(|u| u.last_modified == now)
            .map(|u| u.id.clone())
            .collect();
        let deleted: HashSet<String> = t
            .deleted_users
            .iter()
            .filter(|d| before.contains(&d.user.id))
            .map(|d| d.user.id.clone())
            .collect();
        (changed, deleted)
    };
    assert!(!changed.is_empty() && changed.len() < 300);
    let (delta, _, after) = graph_walk(
        &c,
        &token,
        again["@odata.deltaLink"].as_str().unwrap().to_string(),
    );
    let updated: HashSet<String> = delta
        .iter()
        .filter(|u| u.get("@removed").is_none())
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    let removed: HashSet<String> = delta
        .iter()
        .filter(|u| u["@removed"]["reason"] == "changed")
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(updated, changed);
    assert_eq!(removed, deleted);
    // The first round's selection is carried in the token.
    assert!(
        delta
            .iter()
            .filter(|u| u.get("@removed").is_none())
            .all(|u| u.get("jobTitle").is_none() && u.get("displayName").is_some())
    );
    let (nothing, _, _) = graph_walk(
        &c,
        &token,
        after["@odata.deltaLink"].as_str().unwrap().to_string(),
    );
    assert!(nothing.is_empty());
}

#[test]
fn graph_delta_links_start_from_now_expire_and_reset() {
    let server = graph(Tenant::generate(40, 10, 6), Faults::default());
    let c = client();
    let token = graph_token(&c, &server);
    // "Sync from now": a delta link and no users.
    let r = c
        .get(format!(
            "{}/v1.0/users/delta?$select=displayName,manager&$deltatoken=latest",
            server.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = body(r);
    assert!(v["value"].as_array().unwrap().is_empty());
    let link = v["@odata.deltaLink"].as_str().unwrap().to_string();

    // A user changes: the link from before answers that one alone, with its manager by id.
    let shared = server.tenant();
    let moved = {
        let mut t = shared.lock().unwrap();
        let at = t.tick();
        let user = t.users.iter_mut().find(|u| u.manager_id.is_some()).unwrap();
        user.department = Some("Finance".into());
        user.last_modified = at;
        user.id.clone()
    };
    let (changed, _, last) = graph_walk(&c, &token, link.clone());
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["id"], moved.as_str());
    assert_eq!(
        changed[0]["manager@delta"][0]["@odata.type"],
        "#microsoft.graph.user"
    );
    assert!(changed[0].get("signInActivity").is_none());
    let next = last["@odata.deltaLink"].as_str().unwrap().to_string();

    // After a reset every link handed out answers 410 Gone, pointing at the initial query.
    server.reset_change_tracking();
    let r = c.get(&next).bearer_auth(&token).send().unwrap();
    assert_eq!(r.status(), 410);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("{}/v1.0/users/delta", server.base_url())
    );
    assert_eq!(body(r)["error"]["code"], "resyncRequired");
    // So does a token it never issued.
    let r = c
        .get(format!(
            "{}/v1.0/users/delta?$deltatoken=not-a-token",
            server.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 410);

    // A link of the new generation is good for seven days of the tenant's clock, then expired.
    let (_, _, fresh) = graph_walk(
        &c,
        &token,
        format!("{}/v1.0/users/delta?$select=displayName", server.base_url()),
    );
    let fresh = fresh["@odata.deltaLink"].as_str().unwrap().to_string();
    shared.lock().unwrap().now += chrono::Duration::days(6);
    assert_eq!(
        c.get(&fresh).bearer_auth(&token).send().unwrap().status(),
        200
    );
    shared.lock().unwrap().now += chrono::Duration::days(2);
    let r = c.get(&fresh).bearer_auth(&token).send().unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(body(r)["error"]["code"], "syncStateNotFound");
}

#[test]
fn graph_managed_devices_filter_on_last_sync_and_page() {
    let tenant = Tenant::generate(100, 400, 8);
    let since = tenant.now - chrono::Duration::days(3);
    let expected: HashSet<String> = tenant
        .devices
        .iter()
        .filter(|d| d.os != Os::ChromeOs && d.status != DeviceStatus::Retired)
        .filter(|d| d.last_sync.is_some_and(|t| t >= since))
        .map(|d| d.id.clone())
        .collect();
    let all_managed = tenant
        .devices
        .iter()
        .filter(|d| d.os != Os::ChromeOs && d.status != DeviceStatus::Retired)
        .count();
    assert!(expected.len() > 10 && expected.len() < all_managed);
    let server = graph(
        tenant,
        Faults {
            page_size: 50,
            ..Faults::default()
        },
    );
    let c = client();
    let token = graph_token(&c, &server);
    let filter = format!(
        "lastSyncDateTime ge {}",
        since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let url = reqwest::Url::parse_with_params(
        &format!("{}/v1.0/deviceManagement/managedDevices", server.base_url()),
        &[("$filter", filter.as_str()), ("$top", "500")],
    )
    .unwrap();
    let (items, pages, _) = graph_walk(&c, &token, url.to_string());
    assert_eq!(pages, expected.len().div_ceil(50));
    let ids: HashSet<String> = items
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), items.len());
    assert_eq!(ids, expected);
    let d = &items[0];
    for field in [
        "azureADDeviceId",
        "serialNumber",
        "complianceState",
        "managedDeviceOwnerType",
        "isEncrypted",
        "userPrincipalName",
    ] {
        assert!(d.get(field).is_some(), "{field}");
    }
}

#[test]
fn graph_refuses_sign_ins_and_sign_in_activity_without_premium() {
    let server = graph(
        Tenant::generate(20, 10, 2),
        Faults {
            forbidden: vec!["/v1.0/auditLogs/signIns".to_string()],
            ..Faults::default()
        },
    );
    let c = client();
    let token = graph_token(&c, &server);
    let r = c
        .get(format!("{}/v1.0/auditLogs/signIns", server.base_url()))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let v = body(r);
    assert_eq!(
        v["error"]["code"],
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    );
    assert!(v["error"]["innerError"]["request-id"].is_string());
    let r = c
        .get(format!(
            "{}/v1.0/users?$select=id,signInActivity",
            server.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .get(format!(
            "{}/v1.0/users?$select=id,accountEnabled",
            server.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn graph_lists_sign_ins_newest_first_registration_details_and_roles() {
    let tenant = Tenant::generate(120, 60, 4);
    let no_mfa = tenant.users.iter().filter(|u| !u.mfa_registered).count();
    let sign_ins = tenant.sign_ins.len();
    let abroad = tenant.sign_ins.iter().filter(|s| s.country != "GB").count();
    let roles = tenant.roles.clone();
    let server = graph(tenant, Faults::default());
    let c = client();
    let token = graph_token(&c, &server);

    let (events, _, _) = graph_walk(
        &c,
        &token,
        format!("{}/v1.0/auditLogs/signIns?$top=100", server.base_url()),
    );
    assert_eq!(events.len(), sign_ins);
    let times: Vec<&str> = events
        .iter()
        .map(|e| e["createdDateTime"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(
        events
            .iter()
            .filter(|e| e["location"]["countryOrRegion"] != "GB")
            .count(),
        abroad
    );

    let url = reqwest::Url::parse_with_params(
        &format!(
            "{}/v1.0/reports/authenticationMethods/userRegistrationDetails",
            server.base_url()
        ),
        &[("$filter", "isMfaRegistered eq false")],
    )
    .unwrap();
    let (rows, _, _) = graph_walk(&c, &token, url.to_string());
    assert_eq!(rows.len(), no_mfa);
    assert!(
        rows.iter()
            .all(|r| r["isMfaRegistered"] == false && r["methodsRegistered"].is_array())
    );
    // Documented as taking only $filter and $orderBy.
    let r = c
        .get(format!(
            "{}/v1.0/reports/authenticationMethods/userRegistrationDetails?$top=5",
            server.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);

    let (listed, _, _) = graph_walk(
        &c,
        &token,
        format!("{}/v1.0/directoryRoles", server.base_url()),
    );
    assert_eq!(listed.len(), roles.len());
    for role in &roles {
        let (members, _, _) = graph_walk(
            &c,
            &token,
            format!(
                "{}/v1.0/directoryRoles/roleTemplateId={}/members",
                server.base_url(),
                role.role_template_id
            ),
        );
        let ids: Vec<String> = members
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, role.members);
    }
    let (expanded, _, _) = graph_walk(
        &c,
        &token,
        format!("{}/v1.0/directoryRoles?$expand=members", server.base_url()),
    );
    let global = expanded
        .iter()
        .find(|r| r["roleTemplateId"] == "62e90394-69f5-4237-9190-012177145e10")
        .unwrap();
    assert_eq!(global["members"][0]["userPrincipalName"], ADMIN);
}

#[test]
fn graph_faults_fire_at_the_counted_requests() {
    let server = graph(
        Tenant::generate(30, 5, 1),
        Faults {
            page_size: 10,
            rate_limit_every: Some(5),
            fail_once_at: Some(2),
            malformed_at: Some(3),
            token_lifetime: Some(6),
            ..Faults::default()
        },
    );
    let c = client();
    let token = graph_token(&c, &server);
    let get = |t: &str| {
        c.get(format!("{}/v1.0/users", server.base_url()))
            .bearer_auth(t)
            .send()
            .unwrap()
    };
    assert_eq!(get(&token).status(), 200); // 1
    let failed = get(&token); // 2
    assert_eq!(failed.status(), 503);
    assert_eq!(body(failed)["error"]["code"], "serviceNotAvailable");
    let spoiled = get(&token); // 3
    assert_eq!(spoiled.status(), 200);
    assert!(serde_json::from_str::<Value>(&spoiled.text().unwrap()).is_err());
    assert_eq!(get(&token).status(), 200); // 4
    let throttled = get(&token); // 5
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["retry-after"], "1");
    assert_eq!(body(throttled)["error"]["code"], "TooManyRequests");
    assert_eq!(get(&token).status(), 200); // 6: the token's sixth use
    let expired = get(&token); // 7
    assert_eq!(expired.status(), 401);
    assert_eq!(body(expired)["error"]["code"], "InvalidAuthenticationToken");
    let fresh = graph_token(&c, &server);
    assert_eq!(get(&fresh).status(), 200); // 8
    let statuses: Vec<u16> = server
        .requests()
        .iter()
        .filter(|l| l.method == "GET")
        .map(|l| l.status)
        .collect();
    assert_eq!(statuses, vec![200, 503, 200, 200, 429, 200, 401, 200]);
}

// ---------------------------------------------------------------------------------------------
// Google

fn google(tenant: Tenant, faults: Faults) -> Server {
    Server::google(tenant, faults, Credentials::google_test(ADMIN)).expect("google stand-in")
}

fn assertion(server: &Server, claims: Value) -> String {
    let key = EncodingKey::from_rsa_pem(TEST_PRIVATE_KEY_PEM.as_bytes()).expect("key");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("0123456789abcdef0123456789abcdef01234567".to_string());
    let _ = server;
    encode(&header, &claims, &key).expect("sign")
}

fn claims(server: &Server, scope: &str, sub: Option<&str>) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({
        "iss": TEST_CLIENT_EMAIL,
        "scope": scope,
        "aud": format!("{}/token", server.base_url()),
        "iat": now,
        "exp": now + 3600
    });
    if let Some(sub) = sub {
        c["sub"] = json!(sub);
    }
    c
}

fn google_exchange(c: &Client, server: &Server, jwt: &str) -> Response {
    c.post(format!("{}/token", server.base_url()))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", jwt),
        ])
        .send()
        .unwrap()
}

const ALL_SCOPES: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly https://www.googleapis.com/auth/admin.directory.device.mobile.readonly https://www.googleapis.com/auth/admin.directory.device.chromeos.readonly";

fn google_token(c: &Client, server: &Server, scope: &str) -> String {
    let r = google_exchange(
        c,
        server,
        &assertion(server, claims(server, scope, Some(ADMIN))),
    );
    assert_eq!(r.status(), 200);
    let v = body(r);
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["expires_in"].as_u64().unwrap() <= 3600);
    v["access_token"].as_str().unwrap().to_string()
}

#[test]
fn google_verifies_the_service_account_assertion() {
    let server = google(Tenant::generate(5, 5, 1), Faults::default());
    let c = client();
    assert!(!google_token(&c, &server, ALL_SCOPES).is_empty());

    let good = assertion(&server, claims(&server, ALL_SCOPES, Some(ADMIN)));
    let (head, sig) = good.rsplit_once('.').unwrap();
    let flipped = format!(
        "{head}.{}{}",
        if sig.starts_with('A') { "B" } else { "A" },
        &sig[1..]
    );
    let r = google_exchange(&c, &server, &flipped);
    assert_eq!(r.status(), 400);
    assert_eq!(
        body(r),
        json!({ "error": "invalid_grant", "error_description": "Invalid JWT Signature." })
    );

    let r = google_exchange(
        &c,
        &server,
        &assertion(
            &server,
            claims(&server, ALL_SCOPES, Some("someone@example.org")),
        ),
    );
    assert_eq!(r.status(), 400);
    assert_eq!(body(r)["error_description"], "Invalid email or User ID");

    let r = google_exchange(
        &c,
        &server,
        &assertion(
            &server,
            claims(
                &server,
                "https://www.googleapis.com/auth/admin.directory.user",
                Some(ADMIN),
            ),
        ),
    );
    assert_eq!(r.status(), 401);
    assert_eq!(body(r)["error"], "unauthorized_client");

    let mut wrong_aud = claims(&server, ALL_SCOPES, Some(ADMIN));
    wrong_aud["aud"] = json!("https://oauth2.googleapis.com/token");
    let r = google_exchange(&c, &server, &assertion(&server, wrong_aud));
    assert_eq!(r.status(), 400);
    assert_eq!(body(r)["error"], "invalid_grant");

    let mut too_long = claims(&server, ALL_SCOPES, Some(ADMIN));
    too_long["exp"] = json!(too_long["iat"].as_i64().unwrap() + 7200);
    let r = google_exchange(&c, &server, &assertion(&server, too_long));
    assert_eq!(r.status(), 400);
    assert!(
        body(r)["error_description"]
            .as_str()
            .unwrap()
            .contains("short-lived")
    );

    let mut stranger = claims(&server, ALL_SCOPES, Some(ADMIN));
    stranger["iss"] = json!("someone-else@steward-test.iam.gserviceaccount.com");
    let r = google_exchange(&c, &server, &assertion(&server, stranger));
    assert_eq!(r.status(), 400);

    let r = c
        .post(format!("{}/token", server.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("assertion", good.as_str()),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(body(r)["error"], "unsupported_grant_type");

    // The account acting as itself gets a token but administers nothing.
    let r = google_exchange(
        &c,
        &server,
        &assertion(&server, claims(&server, ALL_SCOPES, None)),
    );
    assert_eq!(r.status(), 200);
    let own = body(r)["access_token"].as_str().unwrap().to_string();
    let r = c
        .get(format!(
            "{}/admin/directory/v1/users?customer=my_customer",
            server.base_url()
        ))
        .bearer_auth(own)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(body(r)["error"]["errors"][0]["reason"], "forbidden");
}

fn google_walk(c: &Client, token: &str, url: &str, field: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut page_token: Option<String> = None;
    loop {
        let mut u = reqwest::Url::parse(url).unwrap();
        if let Some(t) = &page_token {
            u.query_pairs_mut().append_pair("pageToken", t);
        }
        let r = c.get(u).bearer_auth(token).send().unwrap();
        assert_eq!(r.status(), 200);
        let v = body(r);
        pages += 1;
        if let Some(list) = v[field].as_array() {
            items.extend(list.iter().cloned());
        }
        match v["nextPageToken"].as_str() {
            Some(t) => page_token = Some(t.to_string()),
            None => return (items, pages),
        }
    }
}

#[test]
fn google_users_and_devices_page_through_everything_once() {
    let tenant = Tenant::generate(230, 500, 9);
    let suspended = tenant.users.iter().filter(|u| !u.enabled).count();
    let never = tenant
        .users
        .iter()
        .filter(|u| u.last_sign_in.is_none())
        .count();
    let mobile = tenant
        .devices
        .iter()
        .filter(|d| matches!(d.os, Os::Ios | Os::Android))
        .count();
    let chromebooks = tenant
        .devices
        .iter()
        .filter(|d| d.os == Os::ChromeOs)
        .count();
    assert!(mobile > 100 && chromebooks > 5);
    let server = google(tenant, Faults::default());
    let c = client();
    let token = google_token(&c, &server, ALL_SCOPES);
    let base = server.base_url();

    let (users, pages) = google_walk(
        &c,
        &token,
        &format!(
            "{base}/admin/directory/v1/users?customer=my_customer&maxResults=70&projection=full&orderBy=email"
        ),
        "users",
    );
    assert_eq!(pages, 4);
    let emails: Vec<&str> = users
        .iter()
        .map(|u| u["primaryEmail"].as_str().unwrap())
        .collect();
    assert_eq!(emails.iter().collect::<HashSet<_>>().len(), 230);
    assert!(emails.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(
        users.iter().filter(|u| u["suspended"] == true).count(),
        suspended
    );
    assert_eq!(
        users
            .iter()
            .filter(|u| u["lastLoginTime"] == "1970-01-01T00:00:00.000Z")
            .count(),
        never
    );
    assert!(
        users
            .iter()
            .all(|u| u["kind"] == "admin#directory#user" && u["name"]["fullName"].is_string())
    );
    assert!(users.iter().any(|u| u["relations"][0]["type"] == "manager"));

    let (suspended_only, _) = google_walk(
        &c,
        &token,
        &format!("{base}/admin/directory/v1/users?customer=my_customer&query=isSuspended%3Dtrue"),
        "users",
    );
    assert_eq!(suspended_only.len(), suspended);

    let r = c
        .get(format!(
            "{base}/admin/directory/v1/users?customer=my_customer&maxResults=501"
        ))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .get(format!("{base}/admin/directory/v1/users"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);

    let (phones, _) = google_walk(
        &c,
        &token,
        &format!("{base}/admin/directory/v1/customer/my_customer/devices/mobile?projection=FULL"),
        "mobiledevices",
    );
    assert_eq!(phones.len(), mobile);
    assert_eq!(
        phones
            .iter()
            .map(|d| d["resourceId"].as_str().unwrap())
            .collect::<HashSet<_>>()
            .len(),
        mobile
    );
    let (chrome, _) = google_walk(
        &c,
        &token,
        &format!("{base}/admin/directory/v1/customer/my_customer/devices/chromeos?maxResults=3"),
        "chromeosdevices",
    );
    assert_eq!(chrome.len(), chromebooks);
    assert!(
        chrome
            .iter()
            .all(|d| d["serialNumber"].is_string() && d["status"].is_string())
    );
}

#[test]
fn google_faults_and_refusals_come_in_googles_shape() {
    let server = google(
        Tenant::generate(10, 10, 1),
        Faults {
            rate_limit_every: Some(2),
            token_lifetime: Some(3),
            fail_once_at: Some(5),
            forbidden: vec![
                "/admin/directory/v1/customer/my_customer/devices/chromeos".to_string(),
            ],
            ..Faults::default()
        },
    );
    let c = client();
    let users = format!(
        "{}/admin/directory/v1/users?customer=my_customer",
        server.base_url()
    );
    let user_only = google_token(
        &c,
        &server,
        "https://www.googleapis.com/auth/admin.directory.user.readonly",
    );
    assert_eq!(
        c.get(&users)
            .bearer_auth(&user_only)
            .send()
            .unwrap()
            .status(),
        200
    ); // 1
    let throttled = c.get(&users).bearer_auth(&user_only).send().unwrap(); // 2
    assert_eq!(throttled.status(), 429);
    let v = body(throttled);
    assert_eq!(v["error"]["errors"][0]["reason"], "rateLimitExceeded");
    assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
    let mobile = format!(
        "{}/admin/directory/v1/customer/my_customer/devices/mobile",
        server.base_url()
    );
    let narrow = c.get(&mobile).bearer_auth(&user_only).send().unwrap(); // 3
    assert_eq!(narrow.status(), 403);
    assert_eq!(
        body(narrow)["error"]["errors"][0]["reason"],
        "insufficientPermissions"
    );
    let expired = c.get(&users).bearer_auth(&user_only).send().unwrap(); // 4: fourth use
    assert_eq!(expired.status(), 401);
    assert_eq!(body(expired)["error"]["errors"][0]["reason"], "authError");
    let token = google_token(&c, &server, ALL_SCOPES);
    let failed = c.get(&users).bearer_auth(&token).send().unwrap(); // 5
    assert_eq!(failed.status(), 500);
    assert_eq!(body(failed)["error"]["errors"][0]["reason"], "backendError");
    let chrome = format!(
        "{}/admin/directory/v1/customer/my_customer/devices/chromeos",
        server.base_url()
    );
    let refused = c.get(&chrome).bearer_auth(&token).send().unwrap(); // 6 (refused before throttling)
    assert_eq!(refused.status(), 403);
    assert_eq!(body(refused)["error"]["errors"][0]["reason"], "forbidden");
}

// ---------------------------------------------------------------------------------------------
// Jamf Pro

fn jamf(tenant: Tenant, faults: Faults) -> Server {
    Server::jamf(
        tenant,
        faults,
        Credentials::jamf("jamf-client", "jamf-secret"),
    )
    .expect("jamf stand-in")
}

fn jamf_token(c: &Client, server: &Server) -> String {
    let r = c
        .post(format!("{}/api/oauth/token", server.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "jamf-client"),
            ("client_secret", "jamf-secret"),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = body(r);
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["scope"].is_string() && v["expires_in"].is_u64());
    v["access_token"].as_str().unwrap().to_string()
}

#[test]
fn jamf_tokens_and_refusals() {
    let server = jamf(
        Tenant::generate(5, 5, 1),
        Faults {
            forbidden: vec!["/api/v2/mobile-devices".to_string()],
            ..Faults::default()
        },
    );
    let c = client();
    let r = c
        .post(format!("{}/api/oauth/token", server.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "jamf-client"),
            ("client_secret", "nope"),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(body(r)["error"], "invalid_client");
    let r = c
        .get(format!("{}/api/v1/computers-inventory", server.base_url()))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(body(r)["httpStatus"], 401);
    let token = jamf_token(&c, &server);
    let r = c
        .get(format!(
            "{}/api/v2/mobile-devices/detail",
            server.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(body(r)["errors"][0]["code"], "INVALID_PRIVILEGE");
    let r = c
        .get(format!(
            "{}/api/v1/computers-inventory?section=NOT_A_SECTION",
            server.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
}

fn jamf_walk(c: &Client, token: &str, url: &str, size: usize) -> (Vec<Value>, u64, usize) {
    let mut items = Vec::new();
    let mut page = 0;
    loop {
        let r = c
            .get(format!("{url}&page={page}&page-size={size}"))
            .bearer_auth(token)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        let v = body(r);
        let total = v["totalCount"].as_u64().unwrap();
        let results = v["results"].as_array().unwrap().clone();
        let n = results.len();
        items.extend(results);
        page += 1;
        if n < size {
            return (items, total, page);
        }
    }
}

#[test]
fn jamf_computers_and_mobile_devices_page_with_their_sections() {
    let tenant = Tenant::generate(150, 600, 12);
    let macs: Vec<_> = tenant
        .devices
        .iter()
        .filter(|d| {
            d.os == Os::MacOs && d.owner == Ownership::Company && d.status != DeviceStatus::Retired
        })
        .collect();
    let unencrypted = macs.iter().filter(|d| !d.encrypted).count();
    let ios = tenant
        .devices
        .iter()
        .filter(|d| d.os == Os::Ios && d.status != DeviceStatus::Retired)
        .count();
    let macs_n = macs.len();
    assert!(macs_n > 40 && ios > 40);
    let server = jamf(tenant, Faults::default());
    let c = client();
    let token = jamf_token(&c, &server);
    let url = format!(
        "{}/api/v1/computers-inventory?section=GENERAL&section=HARDWARE&section=DISK_ENCRYPTION&section=OPERATING_SYSTEM&section=USER_AND_LOCATION&sort=id:asc",
        server.base_url()
    );
    let (computers, total, pages) = jamf_walk(&c, &token, &url, 40);
    assert_eq!(total as usize, macs_n);
    assert_eq!(computers.len(), macs_n);
    assert_eq!(pages, macs_n / 40 + 1);
    let ids: Vec<u64> = computers
        .iter()
        .map(|x| x["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert!(
        computers
            .iter()
            .all(|x| x["purchasing"].is_null()
                && x["general"]["remoteManagement"]["managed"] == true)
    );
    assert_eq!(
        computers
            .iter()
            .filter(|x| x["diskEncryption"]["bootPartitionEncryptionDetails"]["partitionFileVault2State"] == "UNENCRYPTED")
            .count(),
        unencrypted
    );
    assert!(computers.iter().any(|x| {
        x["userAndLocation"]["email"]
            .as_str()
            .is_some_and(|e| e.ends_with("@example.org"))
    }));

    let url = format!(
        "{}/api/v2/mobile-devices/detail?section=GENERAL&section=HARDWARE&section=SECURITY&section=NETWORK",
        server.base_url()
    );
    let (phones, total, _) = jamf_walk(&c, &token, &url, 25);
    assert_eq!(total as usize, ios);
    assert_eq!(
        phones
            .iter()
            .map(|p| p["mobileDeviceId"].as_str().unwrap())
            .collect::<HashSet<_>>()
            .len(),
        ios
    );
    assert!(
        phones
            .iter()
            .all(|p| p["userAndLocation"].is_null() && p["security"]["dataProtected"].is_boolean())
    );
    assert!(
        phones
            .iter()
            .any(|p| p["network"]["imei"].as_str().is_some_and(|i| i.len() == 15))
    );
}

#[test]
fn jamf_faults_fire() {
    let server = jamf(
        Tenant::generate(20, 60, 2),
        Faults {
            rate_limit_every: Some(3),
            malformed_at: Some(1),
            fail_once_at: Some(2),
            ..Faults::default()
        },
    );
    let c = client();
    let token = jamf_token(&c, &server);
    let url = format!(
        "{}/api/v1/computers-inventory?section=GENERAL",
        server.base_url()
    );
    let spoiled = c.get(&url).bearer_auth(&token).send().unwrap();
    assert_eq!(spoiled.status(), 200);
    assert!(serde_json::from_str::<Value>(&spoiled.text().unwrap()).is_err());
    let failed = c.get(&url).bearer_auth(&token).send().unwrap();
    assert_eq!(failed.status(), 500);
    assert_eq!(body(failed)["httpStatus"], 500);
    let throttled = c.get(&url).bearer_auth(&token).send().unwrap();
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["retry-after"], "1");
    assert_eq!(
        c.get(&url).bearer_auth(&token).send().unwrap().status(),
        200
    );
}

// ---------------------------------------------------------------------------------------------
// Snipe-IT

fn snipe(tenant: Tenant, faults: Faults) -> Server {
    Server::snipe_it(tenant, faults, Credentials::snipe_it("pat-123")).expect("snipe-it stand-in")
}

#[test]
fn snipe_it_pages_hardware_by_limit_and_offset() {
    let tenant = Tenant::generate(80, 300, 6);
    let listed: Vec<_> = tenant
        .devices
        .iter()
        .filter(|d| d.owner == Ownership::Company && d.asset_tag.is_some())
        .filter(|d| !matches!(d.status, DeviceStatus::Lost | DeviceStatus::Retired))
        .collect();
    let n = listed.len();
    let laptops = listed
        .iter()
        .filter(|d| d.kind == DeviceKind::Laptop)
        .count();
    let server = snipe(
        tenant,
        Faults {
            page_size: 500,
            ..Faults::default()
        },
    );
    let c = client();
    let mut rows = Vec::new();
    let mut offset = 0;
    loop {
        let r = c
            .get(format!(
                "{}/api/v1/hardware?limit=50&offset={offset}&sort=id&order=asc",
                server.base_url()
            ))
            .bearer_auth("pat-123")
            .header("Accept", "application/json")
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        let v = body(r);
        assert_eq!(v["total"].as_u64().unwrap() as usize, n);
        let page = v["rows"].as_array().unwrap().clone();
        offset += page.len();
        rows.extend(page);
        if offset >= n {
            break;
        }
    }
    assert_eq!(rows.len(), n);
    let ids: Vec<u64> = rows.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        rows.iter()
            .filter(|r| r["category"]["name"] == "Laptops")
            .count(),
        laptops
    );
    let assigned = rows
        .iter()
        .find(|r| !r["assigned_to"].is_null())
        .expect("an assigned asset");
    assert_eq!(assigned["assigned_to"]["type"], "user");
    assert!(
        assigned["assigned_to"]["email"]
            .as_str()
            .unwrap()
            .ends_with("@example.org")
    );
    assert_eq!(assigned["status_label"]["status_meta"], "deployed");
    assert!(
        rows.iter()
            .all(|r| r["purchase_date"]["date"].is_string()
                && r["updated_at"]["datetime"].is_string())
    );
    assert!(
        rows.iter()
            .all(|r| r["purchase_cost"].as_str().unwrap().contains('.'))
    );
}

#[test]
fn snipe_it_refuses_and_throttles_as_snipe_it_does() {
    let server = snipe(
        Tenant::generate(10, 40, 2),
        Faults {
            rate_limit_every: Some(2),
            ..Faults::default()
        },
    );
    let c = client();
    let url = format!("{}/api/v1/hardware", server.base_url());
    let r = c
        .get(&url)
        .bearer_auth("wrong")
        .header("Accept", "application/json")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        body(r),
        json!({ "error": "Unauthorized or unauthenticated." })
    );
    // Without Accept: application/json Laravel sends the browser to the login page.
    let no_redirects = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects.get(&url).bearer_auth("wrong").send().unwrap();
    assert_eq!(r.status(), 302);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("/login")
    );
    let r = c
        .get(&url)
        .bearer_auth("pat-123")
        .header("Accept", "application/json")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(&url)
        .bearer_auth("pat-123")
        .header("Accept", "application/json")
        .send()
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(
        body(r),
        json!({ "status": "error", "messages": "Too many requests", "payload": null })
    );
}

// ---------------------------------------------------------------------------------------------
// Construction and the tenant

#[test]
fn a_server_refuses_another_vendors_credentials_and_stops_on_drop() {
    assert!(
        Server::jamf(
            Tenant::default(),
            Faults::default(),
            Credentials::snipe_it("x")
        )
        .is_err()
    );
    let server = snipe(Tenant::default(), Faults::default());
    let url = format!("{}/api/v1/hardware", server.base_url());
    let c = client();
    assert_eq!(
        c.get(&url)
            .bearer_auth("pat-123")
            .header("Accept", "application/json")
            .send()
            .unwrap()
            .status(),
        200
    );
    drop(server);
    assert!(Client::new().get(&url).send().is_err());
}

#[test]
fn a_generated_tenant_is_the_same_for_the_same_seed_and_realistic() {
    let started = std::time::Instant::now();
    let a = Tenant::generate(20_000, 30_000, 1);
    let b = Tenant::generate(20_000, 30_000, 1);
    eprintln!("two 20k/30k tenants in {:?}", started.elapsed());
    assert!(a == b);
    assert!(a != Tenant::generate(20_000, 30_000, 2));
    assert_eq!((a.users.len(), a.devices.len()), (20_000, 30_000));

    let users = a.users.len() as f64;
    let leavers = a.users.iter().filter(|u| !u.enabled).count() as f64 / users;
    let no_mfa = a.users.iter().filter(|u| !u.mfa_registered).count() as f64 / users;
    assert!((0.02..0.045).contains(&leavers), "{leavers}");
    assert!((0.07..0.13).contains(&no_mfa), "{no_mfa}");
    let admins = a.users.iter().filter(|u| u.admin).count();
    assert!((2..=40).contains(&admins));
    assert_eq!(
        a.roles.iter().map(|r| r.members.len()).sum::<usize>(),
        admins
    );

    let ids: HashSet<&str> = a.users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids.len(), a.users.len());
    let emails: HashSet<&str> = a.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails.len(), a.users.len());
    assert_eq!(a.users.iter().filter(|u| u.manager_id.is_none()).count(), 1);
    assert!(
        a.users
            .iter()
            .filter_map(|u| u.manager_id.as_deref())
            .all(|m| ids.contains(m))
    );
    assert!(
        a.devices
            .iter()
            .filter_map(|d| d.user_id.as_deref())
            .all(|u| ids.contains(u))
    );
    let serials: HashSet<&str> = a.devices.iter().map(|d| d.serial.as_str()).collect();
    assert_eq!(serials.len(), a.devices.len());
    let phones = a
        .devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Phone)
        .count();
    let laptops = a
        .devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Laptop)
        .count();
    assert!(phones > 6_000 && laptops > 12_000);
    assert!(
        a.devices
            .iter()
            .filter(|d| d.kind == DeviceKind::Phone)
            .all(|d| d.imei.as_ref().is_some_and(|i| i.len() == 15))
    );
    let abroad = a.sign_ins.iter().filter(|s| s.country != "GB").count();
    assert!(abroad > 0 && abroad < a.sign_ins.len() / 10);
}

#[test]
fn a_change_touches_about_the_fraction_asked_and_only_those() {
    let mut a = Tenant::generate(2_000, 3_000, 4);
    let mut b = a.clone();
    a.change(0.02, 9);
    b.change(0.02, 9);
    assert!(a == b);
    let now = a.now;
    let users = a.users.iter().filter(|u| u.last_modified == now).count() + a.deleted_users.len();
    let devices = a.devices.iter().filter(|d| d.last_modified == now).count();
    assert!((10..=45).contains(&users), "{users}");
    assert!((20..=65).contains(&devices), "{devices}");
    let mut c = a.clone();
    c.change(0.0, 1);
    assert_eq!(
        c.users.iter().filter(|u| u.last_modified == c.now).count(),
        0
    );
}
