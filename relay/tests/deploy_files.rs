//! The deployment files under `deploy/` against the code they deploy: the security headers in
//! the Caddy site file and the CloudFront policy equal the relay's one definition
//! (`kelisim_relay::security_headers`), so neither copy can drift silently. What Caddy does
//! with its file is checked by running it: `tests/tests/caddy_front_door.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use kelisim_relay::web::security_headers;

fn repo_file(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {}: {e}", full.display()))
}

/// The relay's headers, names in lower case.
fn relay_headers() -> BTreeMap<String, String> {
    security_headers::all()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// The `Name "value"` lines of the Caddyfile's `header { … }` block (lower-cased names);
/// `defer`, comments and deletions (`-Server`) are not headers.
fn caddy_headers(text: &str) -> BTreeMap<String, String> {
    let mut lines = text.lines().map(str::trim);
    lines
        .by_ref()
        .find(|line| *line == "header {")
        .expect("the Caddyfile has a `header {` block");
    let mut headers = BTreeMap::new();
    for line in lines.take_while(|line| *line != "}") {
        if line.is_empty() || line.starts_with('#') || line.starts_with('-') || line == "defer" {
            continue;
        }
        let (name, value) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("a header line without a value: {line}"));
        let value = value
            .trim()
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or_else(|| panic!("the value of {name} is not quoted: {line}"));
        let earlier = headers.insert(name.to_ascii_lowercase(), value.to_owned());
        assert!(earlier.is_none(), "{name} is set twice in the Caddyfile");
    }
    headers
}

#[test]
fn the_caddyfile_sets_exactly_the_relays_security_headers() {
    let caddy = caddy_headers(&repo_file("deploy/host/Caddyfile"));
    assert_eq!(caddy, relay_headers());
}

#[test]
fn the_caddyfile_reader_notices_a_drifted_value() {
    let drifted = repo_file("deploy/host/Caddyfile").replace("same-origin", "unsafe-url");
    assert_ne!(caddy_headers(&drifted), relay_headers());
}

/// The unit files of `deploy/host/`, with the install path of the binary replaced by the one
/// just built (`systemd-analyze verify` checks that `ExecStart` exists and is executable).
#[cfg(feature = "server")]
fn units_in(dir: &std::path::Path) -> Vec<PathBuf> {
    let host = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/host");
    let mut units = Vec::new();
    for entry in std::fs::read_dir(&host).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !(name.ends_with(".service") || name.ends_with(".timer")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "/usr/local/bin/kelisim-relay",
            env!("CARGO_BIN_EXE_kelisim-relay"),
        );
        let copy = dir.join(name);
        std::fs::write(&copy, text).unwrap();
        units.push(copy);
    }
    units.sort();
    units
}

/// `systemd-analyze verify` exits 0 even for unknown keys or bad values; it reports them on
/// standard error, so a clean verification is an empty one.
#[cfg(feature = "server")]
fn verify(units: &[PathBuf]) -> std::process::Output {
    std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(units)
        .output()
        .unwrap()
}

#[cfg(feature = "server")]
#[test]
fn the_systemd_units_pass_systemd_analyze_verify() {
    let available = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        available,
        "systemd-analyze is not installed, and this test verifies the systemd units with it: \
         run scripts/install-test-deps (Debian: apt-get install systemd)"
    );
    let dir = tempfile::tempdir().unwrap();
    let units = units_in(dir.path());
    let names: Vec<_> = units
        .iter()
        .map(|u| u.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "kelisim-relay-backup.service",
            "kelisim-relay-backup.timer",
            "kelisim-relay-purge.service",
            "kelisim-relay-purge.timer",
            "kelisim-relay.service",
        ]
    );
    let output = verify(&units);
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The same check on a broken copy complains: the clean result above is not vacuous.
    let service = dir.path().join("kelisim-relay.service");
    let broken = std::fs::read_to_string(&service)
        .unwrap()
        .replace("MemoryMax=256M", "MemoryMax=lots");
    std::fs::write(&service, broken).unwrap();
    let output = verify(&units);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("'lots'"),
        "{output:?}"
    );
}

/// The sandbox the issue asks for is in the relay's unit, and the backup timer keeps N copies.
#[test]
fn the_relay_unit_is_sandboxed_and_the_backup_keeps_n_copies() {
    let unit = repo_file("deploy/host/kelisim-relay.service");
    for setting in [
        "User=kelisim-relay",
        "StateDirectory=kelisim-relay",
        "ProtectSystem=strict",
        "NoNewPrivileges=true",
        "PrivateTmp=true",
        "SystemCallFilter=@system-service",
        "MemoryMax=",
        "UMask=0077",
        "--static-dir",
    ] {
        assert!(
            unit.contains(setting),
            "kelisim-relay.service lacks {setting}"
        );
    }
    let backup = repo_file("deploy/host/kelisim-relay-backup.service");
    assert!(backup.contains("kelisim-relay backup ") && backup.contains("--keep 7"));
    let timer = repo_file("deploy/host/kelisim-relay-backup.timer");
    assert!(timer.contains("OnCalendar=") && timer.contains("Persistent=true"));
}

/// The daily purge unit checks every consent stamp after the purge (issue #16), against the
/// site this host serves, read from its directory: the unit stays without a network, and an
/// unverifiable record fails it.
#[test]
fn the_purge_unit_verifies_the_stamps_after_the_purge_from_the_served_directory() {
    let unit = repo_file("deploy/host/kelisim-relay-purge.service");
    let runs: Vec<&str> = unit
        .lines()
        .filter_map(|line| line.strip_prefix("ExecStart="))
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(
        runs[0].contains("kelisim-relay purge-expired --yes"),
        "{runs:?}"
    );
    assert!(
        runs[1].contains("kelisim-relay records verify --all --site /srv/kelisim/public"),
        "{runs:?}"
    );
    let relay = repo_file("deploy/host/kelisim-relay.service");
    assert!(
        relay.contains("--static-dir /srv/kelisim/public"),
        "the directory verified is the one served"
    );
    for setting in [
        "Type=oneshot",
        "ReadOnlyPaths=/etc/kelisim-relay /srv/kelisim",
        "PrivateNetwork=true",
    ] {
        assert!(
            unit.contains(setting),
            "kelisim-relay-purge.service lacks {setting}"
        );
    }
}

// --- deploy/aws/template.yaml ---------------------------------------------------------------

/// The template as JSON. CloudFormation's short tags (`!Ref X`, `!GetAtt …`) become
/// `{"!Ref": X}`, which is all the comparisons below need.
fn template() -> serde_json::Value {
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(&repo_file("deploy/aws/template.yaml")).unwrap();
    to_json(yaml)
}

fn to_json(value: serde_yaml::Value) -> serde_json::Value {
    use serde_yaml::Value as Y;
    match value {
        Y::Null => serde_json::Value::Null,
        Y::Bool(b) => b.into(),
        Y::Number(n) => serde_json::from_str(&n.to_string()).unwrap(),
        Y::String(s) => s.into(),
        Y::Sequence(items) => items.into_iter().map(to_json).collect(),
        Y::Mapping(map) => map
            .into_iter()
            .map(|(k, v)| (k.as_str().unwrap().to_owned(), to_json(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Y::Tagged(tagged) => {
            serde_json::json!({ format!("{}", tagged.tag): to_json(tagged.value) })
        }
    }
}

fn resource(template: &serde_json::Value, name: &str) -> serde_json::Value {
    let found = template["Resources"][name].clone();
    assert!(found.is_object(), "the template has no resource {name}");
    found
}

/// The headers the CloudFront response-headers policy sets, in the relay's form.
fn cloudfront_headers(template: &serde_json::Value) -> BTreeMap<String, String> {
    let policy = resource(template, "SecurityHeaders");
    let config = &policy["Properties"]["ResponseHeadersPolicyConfig"];
    let security = &config["SecurityHeadersConfig"];
    let mut headers = BTreeMap::new();
    for (name, part) in security.as_object().unwrap() {
        assert_eq!(
            part["Override"], true,
            "{name} must override the origin's value"
        );
        let value = match name.as_str() {
            "ContentSecurityPolicy" => part["ContentSecurityPolicy"].as_str().unwrap().to_owned(),
            "ReferrerPolicy" => part["ReferrerPolicy"].as_str().unwrap().to_owned(),
            "ContentTypeOptions" => "nosniff".to_owned(),
            "StrictTransportSecurity" => {
                let mut value = format!("max-age={}", part["AccessControlMaxAgeSec"]);
                if part["IncludeSubdomains"] == true {
                    value.push_str("; includeSubDomains");
                }
                if part["Preload"] == true {
                    value.push_str("; preload");
                }
                value
            }
            other => panic!("a security header the relay does not set: {other}"),
        };
        let header = match name.as_str() {
            "ContentSecurityPolicy" => "content-security-policy",
            "ReferrerPolicy" => "referrer-policy",
            "ContentTypeOptions" => "x-content-type-options",
            _ => "strict-transport-security",
        };
        headers.insert(header.to_owned(), value);
    }
    for item in config["CustomHeadersConfig"]["Items"].as_array().unwrap() {
        assert_eq!(item["Override"], true);
        headers.insert(
            item["Header"].as_str().unwrap().to_ascii_lowercase(),
            item["Value"].as_str().unwrap().to_owned(),
        );
    }
    headers
}

#[test]
fn the_cloudfront_policy_sets_exactly_the_relays_security_headers_on_pages_and_form() {
    let template = template();
    assert_eq!(cloudfront_headers(&template), relay_headers());
    let distribution = resource(&template, "Distribution");
    let config = &distribution["Properties"]["DistributionConfig"];
    let policy = serde_json::json!({ "!Ref": "SecurityHeaders" });
    assert_eq!(
        config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"],
        policy
    );
    let api = config["CacheBehaviors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["PathPattern"] == "/api/*")
        .expect("the form endpoint is a behaviour of the same distribution");
    assert_eq!(api["ResponseHeadersPolicyId"], policy);
    assert_eq!(api["TargetOriginId"], "relay");
}

#[test]
fn the_cloudfront_reader_notices_a_drifted_value() {
    let mut template = template();
    template["Resources"]["SecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
        ["StrictTransportSecurity"]["AccessControlMaxAgeSec"] = 300.into();
    assert_ne!(cloudfront_headers(&template), relay_headers());
}

#[test]
fn the_table_matches_relay_dynamodb_table_json_with_ttl_protection_and_its_own_key() {
    let template = template();
    let table = resource(&template, "RecordsTable");
    let properties = &table["Properties"];
    let json: serde_json::Value =
        serde_json::from_str(&repo_file("relay/dynamodb-table.json")).unwrap();
    for key in [
        "BillingMode",
        "AttributeDefinitions",
        "KeySchema",
        "GlobalSecondaryIndexes",
    ] {
        assert_eq!(
            properties[key], json[key],
            "{key} differs from relay/dynamodb-table.json"
        );
    }
    assert_eq!(
        template["Parameters"]["TableName"]["Default"],
        json["TableName"]
    );
    let mut defined: Vec<_> = json.as_object().unwrap().keys().collect();
    defined.sort();
    assert_eq!(
        defined,
        [
            "AttributeDefinitions",
            "BillingMode",
            "GlobalSecondaryIndexes",
            "KeySchema",
            "TableName"
        ],
        "a new key in relay/dynamodb-table.json must be carried into the template"
    );
    assert_eq!(
        properties["TimeToLiveSpecification"],
        serde_json::json!({ "AttributeName": "expires_at", "Enabled": true })
    );
    assert_eq!(properties["DeletionProtectionEnabled"], true);
    assert_eq!(properties["SSESpecification"]["SSEType"], "KMS");
    assert_eq!(
        properties["SSESpecification"]["KMSMasterKeyId"],
        serde_json::json!({ "!Ref": "TableKey" })
    );
    assert_eq!(resource(&template, "TableKey")["Type"], "AWS::KMS::Key");
    assert!(properties["PointInTimeRecoverySpecification"].is_object());
}

/// Every DynamoDB API operation, as the Rust SDK's client method names it.
const DYNAMODB_OPERATIONS: [&str; 57] = [
    "batch_execute_statement",
    "batch_get_item",
    "batch_write_item",
    "create_backup",
    "create_global_table",
    "create_table",
    "delete_backup",
    "delete_item",
    "delete_resource_policy",
    "delete_table",
    "describe_backup",
    "describe_continuous_backups",
    "describe_contributor_insights",
    "describe_endpoints",
    "describe_export",
    "describe_global_table",
    "describe_global_table_settings",
    "describe_import",
    "describe_kinesis_streaming_destination",
    "describe_limits",
    "describe_table",
    "describe_table_replica_auto_scaling",
    "describe_time_to_live",
    "disable_kinesis_streaming_destination",
    "enable_kinesis_streaming_destination",
    "execute_statement",
    "execute_transaction",
    "export_table_to_point_in_time",
    "get_item",
    "get_resource_policy",
    "import_table",
    "list_backups",
    "list_contributor_insights",
    "list_exports",
    "list_global_tables",
    "list_imports",
    "list_tables",
    "list_tags_of_resource",
    "put_item",
    "put_resource_policy",
    "query",
    "restore_table_from_backup",
    "restore_table_to_point_in_time",
    "scan",
    "tag_resource",
    "transact_get_items",
    "transact_write_items",
    "untag_resource",
    "update_continuous_backups",
    "update_contributor_insights",
    "update_global_table",
    "update_global_table_settings",
    "update_item",
    "update_kinesis_streaming_destination",
    "update_table",
    "update_table_replica_auto_scaling",
    "update_time_to_live",
];

/// `put_item` → `dynamodb:PutItem`.
fn iam_action(operation: &str) -> String {
    let camel: String = operation
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    format!("dynamodb:{camel}")
}

/// The IAM actions the store's code needs, read from the code: every SDK operation called
/// (`.put_item()`) in `relay/src/store/dynamodb/` except the table setup (`table.rs`, run by whoever
/// creates the table, here CloudFormation). A transaction is authorized per item, so
/// `transact_write_items` stands for the item actions its builders use (in any of the
/// store's files: a guard item may be built in one file and sent in another's transaction).
fn actions_the_store_calls() -> std::collections::BTreeSet<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/store/dynamodb");
    let mut actions = std::collections::BTreeSet::new();
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.file_name().unwrap() != "table.rs")
        .map(|path| std::fs::read_to_string(&path).unwrap())
        .collect();
    let all_code = files.concat();
    for code in &files {
        for operation in DYNAMODB_OPERATIONS {
            if !code.contains(&format!(".{operation}()")) {
                continue;
            }
            match operation {
                "transact_write_items" => {
                    for (builder, action) in [
                        (".put(", "dynamodb:PutItem"),
                        (".update(", "dynamodb:UpdateItem"),
                        (".delete(", "dynamodb:DeleteItem"),
                        (".condition_check(", "dynamodb:ConditionCheckItem"),
                    ] {
                        if all_code.contains(&format!("TransactWriteItem::builder(){builder}")) {
                            actions.insert(action.to_owned());
                        }
                    }
                }
                "transact_get_items" => {
                    actions.insert("dynamodb:GetItem".to_owned());
                }
                other => {
                    actions.insert(iam_action(other));
                }
            }
        }
    }
    actions
}

/// The DynamoDB actions a role or managed policy allows.
fn dynamodb_actions(resource: &serde_json::Value) -> std::collections::BTreeSet<String> {
    let properties = &resource["Properties"];
    let documents: Vec<&serde_json::Value> = match properties["Policies"].as_array() {
        Some(policies) => policies.iter().map(|p| &p["PolicyDocument"]).collect(),
        None => vec![&properties["PolicyDocument"]],
    };
    let mut actions = std::collections::BTreeSet::new();
    for document in documents {
        for statement in document["Statement"].as_array().unwrap() {
            assert_eq!(statement["Effect"], "Allow");
            let listed = match &statement["Action"] {
                serde_json::Value::String(one) => vec![one.clone()],
                many => many
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect(),
            };
            for action in listed {
                assert!(!action.contains('*'), "no wildcard actions: {action}");
                if action.starts_with("dynamodb:") {
                    actions.insert(action);
                }
            }
        }
    }
    actions
}

#[test]
fn the_iam_dynamodb_actions_are_exactly_those_the_store_calls() {
    let code = actions_the_store_calls();
    assert!(
        code.contains("dynamodb:PutItem") && code.contains("dynamodb:Query"),
        "the scan of relay/src/dynamodb found the store's calls: {code:?}"
    );
    let template = template();
    let functions: std::collections::BTreeSet<String> = ["FormRole", "PurgeRole", "DeliverRole"]
        .iter()
        .flat_map(|role| dynamodb_actions(&resource(&template, role)))
        .collect();
    assert_eq!(functions, code, "the functions' roles together");
    let operator = dynamodb_actions(&resource(&template, "OperatorPolicy"));
    assert_eq!(
        operator, code,
        "the operator's policy (data-subject commands)"
    );
    // The form function can neither read the table out by email nor erase it.
    let form = dynamodb_actions(&resource(&template, "FormRole"));
    for never in ["dynamodb:Query", "dynamodb:Scan", "dynamodb:DeleteItem"] {
        assert!(
            !form.contains(never),
            "the form function must not have {never}"
        );
    }
}

#[test]
fn the_functions_run_the_same_zip_on_al2023_with_timeouts_and_reserved_concurrency() {
    let template = template();
    let mut tasks = Vec::new();
    for name in ["FormFunction", "PurgeFunction", "DeliverFunction"] {
        let function = resource(&template, name);
        let p = &function["Properties"];
        assert_eq!(p["Runtime"], "provided.al2023", "{name}");
        assert_eq!(
            p["Architectures"],
            serde_json::json!([{ "!Ref": "Architecture" }])
        );
        assert_eq!(p["Code"]["S3Key"], serde_json::json!({ "!Ref": "CodeKey" }));
        assert!(p["Timeout"].as_u64().is_some_and(|t| t > 0), "{name}");
        assert!(!p["ReservedConcurrentExecutions"].is_null(), "{name}");
        tasks.push(p["Environment"]["Variables"]["KELISIM_LAMBDA_TASK"].clone());
    }
    assert_eq!(
        tasks,
        [
            serde_json::Value::Null,
            "purge-expired".into(),
            "deliver".into()
        ]
    );
    // Each function's failures reach the operator; the purge's include an unverifiable
    // consent stamp (issue #16).
    let alarms = template["Resources"].as_object().unwrap();
    for name in ["FormFunction", "PurgeFunction", "DeliverFunction"] {
        let watched = alarms.values().any(|r| {
            r["Type"] == "AWS::CloudWatch::Alarm"
                && r["Properties"]["MetricName"] == "Errors"
                && r["Properties"]["Dimensions"][0]["Value"] == serde_json::json!({ "!Ref": name })
        });
        assert!(watched, "no alarm on the Errors of {name}");
    }
    assert_eq!(
        resource(&template, "PurgeSchedule")["Properties"]["Targets"][0]["Arn"],
        serde_json::json!({ "!GetAtt": "PurgeFunction.Arn" })
    );
    assert_eq!(
        resource(&template, "DeliverSchedule")["Properties"]["Targets"][0]["Arn"],
        serde_json::json!({ "!GetAtt": "DeliverFunction.Arn" })
    );
}
