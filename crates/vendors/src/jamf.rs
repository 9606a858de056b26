//! Jamf Pro API: client-credentials tokens, computers inventory, mobile devices detail and
//! departments.
//!
//! Shapes follow the Jamf Pro API's OpenAPI schema (Jamf Pro 11.6 and 11.9, as published in
//! PixarAnimationStudios/ruby-jss `lib/jamf/api/jamf_pro/oapi_schemas/`) and the Jamf Pro API
//! reference, <https://developer.jamf.com/jamf-pro/reference>

use crate::server::{
    Admitted, Credentials, Refusal, Shared, json, ok_json, param, query_pairs, with_header,
};
use crate::tenant::{Compliance, Device, DeviceKind, DeviceStatus, Os, Ownership, Tenant, User};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

type S = State<Arc<Shared>>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/oauth/token", post(token))
        .route("/api/v1/computers-inventory", get(computers))
        .route("/api/v2/computers-inventory", get(computers))
        .route("/api/v2/mobile-devices/detail", get(mobile_devices))
        .route("/api/v1/departments", get(departments))
        .fallback(not_found)
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The Jamf Pro API's error body, schema `ApiError` (`httpStatus`, `errors[]` of
/// `ApiErrorCause` with `code`, `field`, `description`, `id`).
fn api_error(status: StatusCode, code: &str, description: &str, field: Option<&str>) -> Response {
    json(
        status,
        &json!({
            "httpStatus": status.as_u16(),
            "errors": [{ "code": code, "description": description, "id": "0", "field": field }]
        }),
    )
}

fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Missing | Refusal::Unknown | Refusal::Expired => api_error(
            StatusCode::UNAUTHORIZED,
            "INVALID_TOKEN",
            "Unauthorized",
            None,
        ),
        Refusal::Forbidden(_) => api_error(
            StatusCode::FORBIDDEN,
            "INVALID_PRIVILEGE",
            "Forbidden",
            None,
        ),
        Refusal::RateLimited => with_header(
            api_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_REQUESTS",
                "Too Many Requests",
                None,
            ),
            "retry-after",
            "1",
        ),
        Refusal::ServerError => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNEXPECTED",
            "An unexpected error occurred",
            None,
        ),
    }
}

async fn not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Not Found", None)
}

fn guarded(
    shared: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    answer: impl FnOnce(&[(String, String)]) -> Result<Value, Response>,
) -> Response {
    let admitted: Admitted = match shared.admit(headers, uri.path()) {
        Ok(a) => a,
        Err(r) => return refused(r),
    };
    let pairs = query_pairs(uri.query());
    match answer(&pairs) {
        Ok(value) => ok_json(&admitted, &value),
        Err(response) => response,
    }
}

/// Obtain an access token using an API client: form `grant_type=client_credentials`,
/// `client_id`, `client_secret` (optional `scope`) and the response `{access_token, scope,
/// token_type: "Bearer", expires_in}`. Jamf Pro API reference, "Obtain an access token using an
/// API Client", https://developer.jamf.com/jamf-pro/reference/postoauthtoken, and Jamf Pro
/// Documentation, "Generating a Client Secret" (its example response).
async fn token(State(shared): S, body: Bytes) -> Response {
    let Credentials::Jamf {
        client_id,
        client_secret,
    } = &shared.credentials
    else {
        return json(
            StatusCode::BAD_REQUEST,
            &json!({ "error": "invalid_request" }),
        );
    };
    let form: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if param(&form, "grant_type") != Some("client_credentials") {
        return json(
            StatusCode::BAD_REQUEST,
            &json!({ "error": "unsupported_grant_type" }),
        );
    }
    if param(&form, "client_id") != Some(client_id.as_str())
        || param(&form, "client_secret") != Some(client_secret.as_str())
    {
        return json(
            StatusCode::UNAUTHORIZED,
            &json!({ "error": "invalid_client" }),
        );
    }
    if param(&form, "scope").is_some_and(|s| s.split_whitespace().any(|r| r != "api-role:1")) {
        return json(
            StatusCode::BAD_REQUEST,
            &json!({ "error": "invalid_scope" }),
        );
    }
    let access_token = shared.issue("eyJhbGciOiJIUzI1NiJ9.", Vec::new());
    json(
        StatusCode::OK,
        &json!({
            "access_token": access_token,
            "scope": "api-role:1",
            "token_type": "Bearer",
            "expires_in": 599
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Paging, sections, sorting

/// `page` (from 0) and `page-size` (default 100).
fn paging(shared: &Shared, pairs: &[(String, String)]) -> Result<(usize, usize), Response> {
    let page = match param(pairs, "page") {
        None => 0,
        Some(p) => p.parse::<usize>().map_err(|_| {
            api_error(
                StatusCode::BAD_REQUEST,
                "INVALID_FIELD",
                "page must be a number",
                Some("page"),
            )
        })?,
    };
    let size = match param(pairs, "page-size") {
        None => None,
        Some(p) => Some(p.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
            api_error(
                StatusCode::BAD_REQUEST,
                "INVALID_FIELD",
                "page-size must be a positive number",
                Some("page-size"),
            )
        })?),
    };
    Ok((page, shared.page_size(size, 2000)))
}

/// The sections asked for (`section=GENERAL&section=HARDWARE`, or comma-separated), checked
/// against the endpoint's list; GENERAL when none.
fn sections(pairs: &[(String, String)], known: &[&str]) -> Result<Vec<String>, Response> {
    let mut out = Vec::new();
    for (_, value) in pairs.iter().filter(|(k, _)| k == "section") {
        for s in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !known.contains(&s) {
                return Err(api_error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_FIELD",
                    &format!("Invalid section: {s}"),
                    Some("section"),
                ));
            }
            out.push(s.to_string());
        }
    }
    if out.is_empty() {
        out.push("GENERAL".to_string());
    }
    Ok(out)
}

/// `sort=field:asc,field2:desc` against the fields allowed, or the default.
fn sort_criteria(
    pairs: &[(String, String)],
    allowed: &[&str],
    default: &str,
) -> Result<Vec<(String, bool)>, Response> {
    let text = param(pairs, "sort").unwrap_or(default);
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (field, dir) = part.split_once(':').unwrap_or((part, "asc"));
        if !allowed.contains(&field) || !matches!(dir, "asc" | "desc") {
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                "INVALID_FIELD",
                &format!("Invalid sort criterion: {part}"),
                Some("sort"),
            ));
        }
        out.push((field.to_string(), dir == "desc"));
    }
    Ok(out)
}

fn reject_filter(pairs: &[(String, String)]) -> Result<(), Response> {
    if param(pairs, "filter").is_some_and(|f| !f.is_empty()) {
        return Err(api_error(
            StatusCode::BAD_REQUEST,
            "INVALID_FILTER",
            "RSQL filters are not offered by this stand-in",
            Some("filter"),
        ));
    }
    Ok(())
}

fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            _ => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
        },
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => a.to_string().cmp(&b.to_string()),
    }
}

fn lookup<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .fold(v, |v, k| v.get(k).unwrap_or(&Value::Null))
}

/// Sorts full records (every section rendered) by the criteria, ties by `id_field`.
fn sort_records(records: &mut [Value], criteria: &[(String, bool)], id_field: &str) {
    records.sort_by(|a, b| {
        for (field, desc) in criteria {
            let o = compare_values(lookup(a, field), lookup(b, field));
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        compare_values(lookup(a, id_field), lookup(b, id_field))
    });
}

/// Keeps the asked-for sections of a record, the others `null` (lists empty).
fn keep_sections(record: &mut Value, asked: &[String], all: &[(&str, &str, bool)]) {
    if let Some(map) = record.as_object_mut() {
        for (section, key, is_list) in all {
            if !asked.iter().any(|a| a == section) {
                map.insert(key.to_string(), Value::Null);
            } else if !map.contains_key(*key) {
                map.insert(
                    key.to_string(),
                    if *is_list { json!([]) } else { Value::Null },
                );
            }
        }
    }
}

/// Departments by name, numbered in name order (Jamf refers to them by id).
fn department_ids(tenant: &Tenant) -> HashMap<String, String> {
    let names: BTreeSet<&str> = tenant
        .users
        .iter()
        .filter_map(|u| u.department.as_deref())
        .collect();
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), (i + 1).to_string()))
        .collect()
}

fn username(u: &User) -> String {
    u.email.split('@').next().unwrap_or("").to_string()
}

/// A stable upper-case UDID-like value for a device.
fn udid(d: &Device) -> String {
    d.id.to_ascii_uppercase()
}

// ---------------------------------------------------------------------------------------------
// Computers

/// (section, response key, is a list).
const COMPUTER_SECTIONS: &[(&str, &str, bool)] = &[
    ("GENERAL", "general", false),
    ("DISK_ENCRYPTION", "diskEncryption", false),
    ("PURCHASING", "purchasing", false),
    ("APPLICATIONS", "applications", true),
    ("STORAGE", "storage", false),
    ("USER_AND_LOCATION", "userAndLocation", false),
    ("CONFIGURATION_PROFILES", "configurationProfiles", true),
    ("PRINTERS", "printers", true),
    ("SERVICES", "services", true),
    ("HARDWARE", "hardware", false),
    ("LOCAL_USER_ACCOUNTS", "localUserAccounts", true),
    ("CERTIFICATES", "certificates", true),
    ("ATTACHMENTS", "attachments", true),
    ("PLUGINS", "plugins", true),
    ("PACKAGE_RECEIPTS", "packageReceipts", false),
    ("FONTS", "fonts", true),
    ("SECURITY", "security", false),
    ("OPERATING_SYSTEM", "operatingSystem", false),
    ("LICENSED_SOFTWARE", "licensedSoftware", true),
    ("IBEACONS", "ibeacons", true),
    ("SOFTWARE_UPDATES", "softwareUpdates", true),
    ("EXTENSION_ATTRIBUTES", "extensionAttributes", true),
    ("CONTENT_CACHING", "contentCaching", false),
    ("GROUP_MEMBERSHIPS", "groupMemberships", true),
];

fn in_jamf_computers(d: &Device) -> bool {
    d.os == Os::MacOs && d.owner == Ownership::Company && d.status != DeviceStatus::Retired
}

/// A computer with every section this stand-in renders. Schemas `ComputerInventory`,
/// `ComputerGeneral`, `ComputerRemoteManagement`, `ComputerHardware`, `ComputerDiskEncryption`,
/// `ComputerPartitionEncryption` (`partitionFileVault2State`: UNKNOWN, UNENCRYPTED, INELIGIBLE,
/// DECRYPTED, DECRYPTING, ENCRYPTED, ENCRYPTING, …), `ComputerOperatingSystem`,
/// `ComputerUserAndLocation`, `ComputerPurchase`.
fn computer_json(
    d: &Device,
    holder: Option<&User>,
    departments: &HashMap<String, String>,
) -> Value {
    let last = d.last_sync.map(time);
    let fv = if d.encrypted {
        "ENCRYPTED"
    } else {
        "UNENCRYPTED"
    };
    let apple_silicon = d.model_identifier.starts_with("Mac1");
    json!({
        "id": d.number.to_string(),
        "udid": udid(d),
        "general": {
            "name": d.name,
            "lastIpAddress": "192.0.2.10",
            "lastReportedIp": "10.0.0.10",
            "jamfBinaryVersion": "11.9.2-t1726753918",
            "platform": "Mac",
            "barcode1": null,
            "barcode2": null,
            "assetTag": d.asset_tag,
            "remoteManagement": { "managed": true, "managementUsername": "jamfmanage" },
            "supervised": true,
            "mdmCapable": { "capable": true, "capableUsers": holder.map(|u| vec![username(u)]).unwrap_or_default() },
            "reportDate": last,
            "lastContactTime": last,
            "lastCloudBackupDate": null,
            "lastEnrolledDate": time(d.enrolled),
            "mdmProfileExpiration": time(d.enrolled + chrono::Duration::days(730)),
            "initialEntryDate": d.enrolled.date_naive().to_string(),
            "distributionPoint": null,
            "enrollmentMethod": null,
            "site": { "id": "-1", "name": "None" },
            "itunesStoreAccountActive": false,
            "enrolledViaAutomatedDeviceEnrollment": true,
            "userApprovedMdm": true,
            "declarativeDeviceManagementEnabled": true,
            "extensionAttributes": [],
            "managementId": d.directory_id
        },
        "hardware": {
            "make": d.manufacturer,
            "model": d.model,
            "modelIdentifier": d.model_identifier,
            "serialNumber": d.serial,
            "processorSpeedMhz": 0,
            "processorCount": 1,
            "coreCount": 8,
            "processorType": if apple_silicon { "Apple M2" } else { "Intel Core i7" },
            "processorArchitecture": if apple_silicon { "arm64" } else { "x86_64" },
            "busSpeedMhz": 0,
            "cacheSizeKilobytes": 0,
            "networkAdapterType": "IEEE80211",
            "macAddress": "F0:18:98:00:00:01",
            "altNetworkAdapterType": null,
            "altMacAddress": null,
            "totalRamMegabytes": 16384,
            "openRamSlots": 0,
            "batteryCapacityPercent": 92,
            "smcVersion": null,
            "nicSpeed": "n/a",
            "opticalDrive": null,
            "bootRom": "10151.121.1",
            "bleCapable": true,
            "supportsIosAppInstalls": apple_silicon,
            "appleSilicon": apple_silicon,
            "extensionAttributes": []
        },
        "diskEncryption": {
            "bootPartitionEncryptionDetails": {
                "partitionName": "Macintosh HD (Boot Partition)",
                "partitionFileVault2State": fv,
                "partitionFileVault2Percent": if d.encrypted { 100 } else { 0 }
            },
            "individualRecoveryKeyValidityStatus": if d.encrypted { "VALID" } else { "NOT_APPLICABLE" },
            "institutionalRecoveryKeyPresent": false,
            "diskEncryptionConfigurationName": if d.encrypted { "FileVault 2" } else { "" },
            "fileVault2EnabledUserNames": if d.encrypted { holder.map(|u| vec![username(u)]).unwrap_or_default() } else { Vec::new() },
            "fileVault2EligibilityMessage": "Eligible"
        },
        "operatingSystem": {
            "name": "macOS",
            "version": d.os_version,
            "build": match d.os_version.as_str() { "14.5" => "23F79", "14.6.1" => "23G93", "15.0.1" => "24A348", _ => "23A344" },
            "supplementalBuildVersion": null,
            "rapidSecurityResponse": null,
            "activeDirectoryStatus": "Not Bound",
            "fileVault2Status": if d.encrypted { "ALL_ENCRYPTED" } else { "NOT_ENCRYPTED" },
            "softwareUpdateDeviceId": d.model_identifier,
            "extensionAttributes": []
        },
        "userAndLocation": {
            "username": holder.map(username),
            "realname": holder.map(|u| u.display_name.clone()),
            "email": holder.map(|u| u.email.clone()),
            "position": holder.and_then(|u| u.job_title.clone()),
            "phone": null,
            "departmentId": holder.and_then(|u| u.department.as_ref()).and_then(|n| departments.get(n)).cloned().unwrap_or_else(|| "-1".to_string()),
            "buildingId": "-1",
            "room": null,
            "extensionAttributes": []
        },
        "purchasing": {
            "leased": false,
            "purchased": true,
            "poNumber": null,
            "poDate": d.purchase_date.map(|p| p.to_string()),
            "vendor": null,
            "warrantyDate": null,
            "appleCareId": null,
            "leaseDate": null,
            "purchasePrice": d.purchase_cost_pence.map(|p| format!("{}.{:02}", p / 100, p % 100)),
            "lifeExpectancy": 4,
            "purchasingAccount": null,
            "purchasingContact": null,
            "extensionAttributes": []
        }
    })
}

/// Return paginated Computer Inventory records: `section` (repeated), `page`, `page-size`,
/// `sort` (default `general.name:asc`), the response `{totalCount, results}`. Jamf Pro API
/// reference, "Return paginated Computer Inventory records",
/// https://developer.jamf.com/jamf-pro/reference/get_v1-computers-inventory (the v2 path of Jamf
/// Pro 11.32 answers the same here).
async fn computers(State(shared): S, uri: Uri, headers: HeaderMap) -> Response {
    let s = shared.clone();
    guarded(&shared, &uri, &headers, move |pairs| {
        reject_filter(pairs)?;
        let known: Vec<&str> = COMPUTER_SECTIONS.iter().map(|(s, _, _)| *s).collect();
        let asked = sections(pairs, &known)?;
        let criteria = sort_criteria(
            pairs,
            &[
                "id",
                "udid",
                "general.name",
                "general.assetTag",
                "general.lastContactTime",
                "general.reportDate",
                "general.lastEnrolledDate",
                "hardware.make",
                "hardware.model",
                "operatingSystem.name",
                "operatingSystem.version",
                "operatingSystem.build",
                "userAndLocation.realname",
            ],
            "general.name:asc",
        )?;
        let (page, size) = paging(&s, pairs)?;
        let tenant = s.tenant();
        let users = tenant.user_index();
        let departments = department_ids(&tenant);
        let mut records: Vec<Value> = tenant
            .devices
            .iter()
            .filter(|d| in_jamf_computers(d))
            .map(|d| {
                let holder = d.user_id.as_deref().and_then(|id| users.get(id).copied());
                computer_json(d, holder, &departments)
            })
            .collect();
        sort_records(&mut records, &criteria, "id");
        let total = records.len();
        let results: Vec<Value> = records
            .into_iter()
            .skip(page.saturating_mul(size))
            .take(size)
            .map(|mut r| {
                keep_sections(&mut r, &asked, COMPUTER_SECTIONS);
                r
            })
            .collect();
        Ok(json!({ "totalCount": total, "results": results }))
    })
}

// ---------------------------------------------------------------------------------------------
// Mobile devices

const MOBILE_SECTIONS: &[(&str, &str, bool)] = &[
    ("GENERAL", "general", false),
    ("HARDWARE", "hardware", false),
    ("USER_AND_LOCATION", "userAndLocation", false),
    ("PURCHASING", "purchasing", false),
    ("SECURITY", "security", false),
    ("APPLICATIONS", "applications", true),
    ("EBOOKS", "ebooks", true),
    ("NETWORK", "network", false),
    ("SERVICE_SUBSCRIPTIONS", "serviceSubscriptions", true),
    ("CERTIFICATES", "certificates", true),
    ("PROFILES", "profiles", true),
    ("USER_PROFILES", "userProfiles", true),
    ("PROVISIONING_PROFILES", "provisioningProfiles", true),
    ("SHARED_USERS", "sharedUsers", true),
    ("EXTENSION_ATTRIBUTES", "extensionAttributes", true),
];

fn in_jamf_mobile(d: &Device) -> bool {
    d.os == Os::Ios && d.status != DeviceStatus::Retired
}

/// A mobile device with every section rendered here. Schemas `MobileDeviceInventory`
/// (`mobileDeviceId`, `deviceType`, `hardware`, `userAndLocation`), `MobileDeviceIosInventory`
/// (`general`, `security`, `network`, `purchasing`), `MobileDeviceGeneral`
/// (`deviceOwnershipType`: Institutional, PersonalDeviceProfile, UserEnrollment, …),
/// `MobileDeviceHardware`, `MobileDeviceUserAndLocation`, `MobileDeviceSecurity`,
/// `MobileDeviceNetwork`.
fn mobile_json(d: &Device, holder: Option<&User>, departments: &HashMap<String, String>) -> Value {
    let last = d.last_sync.map(time);
    let company = d.owner == Ownership::Company;
    let passcode = d.compliance != Compliance::Noncompliant;
    let department = holder.and_then(|u| u.department.clone());
    json!({
        "mobileDeviceId": d.number.to_string(),
        "deviceType": "iOS",
        "general": {
            "udid": udid(d),
            "displayName": d.name,
            "assetTag": d.asset_tag,
            "siteId": "-1",
            "lastInventoryUpdateDate": last,
            "osVersion": d.os_version,
            "osRapidSecurityResponse": null,
            "osBuild": match d.os_version.as_str() { "17.5.1" => "21F90", "17.6.1" => "21G93", "18.0" => "22A3354", _ => "20H343" },
            "osSupplementalBuildVersion": null,
            "softwareUpdateDeviceId": d.model_identifier,
            "ipAddress": "10.0.1.20",
            "managed": true,
            "supervised": company,
            "deviceOwnershipType": if company { "Institutional" } else { "UserEnrollment" },
            "enrollmentSessionTokenValid": false,
            "lastEnrolledDate": time(d.enrolled),
            "mdmProfileExpirationDate": time(d.enrolled + chrono::Duration::days(730)),
            "timeZone": "Europe/London",
            "declarativeDeviceManagementEnabled": true,
            "extensionAttributes": [],
            "sharedIpad": false,
            "diagnosticAndUsageReportingEnabled": false,
            "appAnalyticsEnabled": false,
            "deviceLocatorServiceEnabled": company,
            "doNotDisturbEnabled": false,
            "cloudBackupEnabled": false,
            "lastCloudBackupDate": null,
            "itunesStoreAccountActive": true
        },
        "hardware": {
            "capacityMb": 122_070,
            "availableSpaceMb": 61_035,
            "usedSpacePercentage": 50,
            "batteryLevel": 80,
            "serialNumber": d.serial,
            "wifiMacAddress": "AC:DE:48:00:00:02",
            "bluetoothMacAddress": "AC:DE:48:00:00:03",
            "modemFirmwareVersion": if d.kind == DeviceKind::Phone { "2.50.01" } else { "" },
            "model": d.model,
            "modelIdentifier": d.model_identifier,
            "modelNumber": "MTP03B/A",
            "bluetoothLowEnergyCapable": true,
            "deviceId": d.directory_id,
            "extensionAttributes": []
        },
        "userAndLocation": {
            "username": holder.map(username),
            "realName": holder.map(|u| u.display_name.clone()),
            "emailAddress": holder.map(|u| u.email.clone()),
            "position": holder.and_then(|u| u.job_title.clone()),
            "phoneNumber": null,
            "departmentId": department.as_ref().and_then(|n| departments.get(n)).cloned().unwrap_or_else(|| "-1".to_string()),
            "buildingId": "-1",
            "room": null,
            "building": null,
            "department": department,
            "extensionAttributes": []
        },
        "purchasing": {
            "purchased": company,
            "leased": false,
            "poNumber": null,
            "vendor": null,
            "appleCareId": null,
            "purchasePrice": d.purchase_cost_pence.map(|p| format!("{}.{:02}", p / 100, p % 100)),
            "purchasingAccount": null,
            "poDate": d.purchase_date.map(|p| p.to_string()),
            "warrantyExpiresDate": null,
            "leaseExpiresDate": null,
            "lifeExpectancy": 3,
            "purchasingContact": null,
            "extensionAttributes": []
        },
        "security": {
            "dataProtected": d.encrypted && passcode,
            "blockLevelEncryptionCapable": true,
            "fileLevelEncryptionCapable": true,
            "passcodePresent": passcode,
            "passcodeCompliant": passcode,
            "passcodeCompliantWithProfile": passcode,
            "hardwareEncryption": 3,
            "activationLockEnabled": company,
            "jailBreakDetected": false,
            "passcodeLockGracePeriodEnforcedSeconds": 0,
            "personalDeviceProfileCurrent": !company,
            "lostModeEnabled": d.status == DeviceStatus::Lost,
            "lostModePersistent": false,
            "lostModeMessage": null,
            "lostModePhoneNumber": null,
            "lostModeFootnote": null,
            "lostModeLocation": null
        },
        "network": {
            "cellularTechnology": if d.kind == DeviceKind::Phone { "GSM" } else { "" },
            "voiceRoamingEnabled": false,
            "imei": d.imei,
            "iccid": null,
            "meid": null,
            "eid": null,
            "carrierSettingsVersion": "60.0",
            "currentCarrierNetwork": if d.kind == DeviceKind::Phone { "EE" } else { "" },
            "currentMobileCountryCode": "234",
            "currentMobileNetworkCode": "30",
            "homeCarrierNetwork": if d.kind == DeviceKind::Phone { "EE" } else { "" },
            "homeMobileCountryCode": "234",
            "homeMobileNetworkCode": "30",
            "dataRoamingEnabled": false,
            "roaming": false,
            "personalHotspotEnabled": false,
            "phoneNumber": d.phone_number
        }
    })
}

/// Return paginated Mobile Device Inventory records of all sections: `section`, `page`,
/// `page-size`, `sort` (default `mobileDeviceId:asc`), the response `{totalCount, results}` of
/// `MobileDeviceResponse`. Jamf Pro API reference, "Return paginated Mobile Device Inventory
/// records of all sections", https://developer.jamf.com/jamf-pro/reference/get_v2-mobile-devices-detail
async fn mobile_devices(State(shared): S, uri: Uri, headers: HeaderMap) -> Response {
    let s = shared.clone();
    guarded(&shared, &uri, &headers, move |pairs| {
        reject_filter(pairs)?;
        let known: Vec<&str> = MOBILE_SECTIONS.iter().map(|(s, _, _)| *s).collect();
        let asked = sections(pairs, &known)?;
        let criteria = sort_criteria(
            pairs,
            &[
                "mobileDeviceId",
                "displayName",
                "general.displayName",
                "general.lastInventoryUpdateDate",
                "hardware.serialNumber",
                "userAndLocation.username",
            ],
            "mobileDeviceId:asc",
        )?
        .into_iter()
        .map(|(f, d)| {
            (
                if f == "displayName" {
                    "general.displayName".to_string()
                } else {
                    f
                },
                d,
            )
        })
        .collect::<Vec<_>>();
        let (page, size) = paging(&s, pairs)?;
        let tenant = s.tenant();
        let users = tenant.user_index();
        let departments = department_ids(&tenant);
        let mut records: Vec<Value> = tenant
            .devices
            .iter()
            .filter(|d| in_jamf_mobile(d))
            .map(|d| {
                let holder = d.user_id.as_deref().and_then(|id| users.get(id).copied());
                mobile_json(d, holder, &departments)
            })
            .collect();
        sort_records(&mut records, &criteria, "mobileDeviceId");
        let total = records.len();
        let results: Vec<Value> = records
            .into_iter()
            .skip(page.saturating_mul(size))
            .take(size)
            .map(|mut r| {
                keep_sections(&mut r, &asked, MOBILE_SECTIONS);
                r
            })
            .collect();
        Ok(json!({ "totalCount": total, "results": results }))
    })
}

/// Search for sorted and paged Departments: `{totalCount, results: [{id, name}]}`. Jamf Pro API
/// reference, "Search for Departments", https://developer.jamf.com/jamf-pro/reference/get_v1-departments
async fn departments(State(shared): S, uri: Uri, headers: HeaderMap) -> Response {
    let s = shared.clone();
    guarded(&shared, &uri, &headers, move |pairs| {
        reject_filter(pairs)?;
        let (page, size) = paging(&s, pairs)?;
        let tenant = s.tenant();
        let mut rows: Vec<(String, String)> = department_ids(&tenant)
            .into_iter()
            .map(|(name, id)| (id, name))
            .collect();
        rows.sort_by_key(|(id, _)| id.parse::<u32>().unwrap_or(0));
        let results: Vec<Value> = rows
            .iter()
            .skip(page.saturating_mul(size))
            .take(size)
            .map(|(id, name)| {
                let mut m = Map::new();
                m.insert("id".to_string(), Value::String(id.clone()));
                m.insert("name".to_string(), Value::String(name.clone()));
                Value::Object(m)
            })
            .collect();
        Ok(json!({ "totalCount": rows.len(), "results": results }))
    })
}
