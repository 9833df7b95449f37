"""Offline verification of infra/ (Bicep), azure.yaml and scripts/post-deploy.sh.

There is no Bicep CLI and no Azure account here, so this file stands in for both: every template
must parse with two independent Bicep grammars (tree-sitter-bicep and pycep-parser), the parsed
templates are held to the keyless policy (no shared keys, no Speech keys, no instrumentation-key
ingestion, roles instead), the app settings are cross-checked against what the code reads
(``shared.settings``, ``function_app``), and checkov scans the lot. A template error, a renamed
setting or a dropped role then fails here instead of halfway through ``azd up``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import tree_sitter
import tree_sitter_bicep
import yaml
from lark.exceptions import LarkError
from pycep import BicepParser

from tests.app_functions import app_functions

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
MODULES = INFRA / "app"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))
POST_DEPLOY = ROOT / "scripts" / "post-deploy.sh"
PRE_PROVISION = ROOT / "scripts" / "pre-provision.sh"
CHECKOV_BIN = Path(os.environ.get("CHECKOV_BIN", ROOT / ".venv-checkov" / "bin" / "checkov"))

# Each resource type pinned to one API version that exists (no previews). Confirmed against the
# Microsoft Learn template reference version lists and Microsoft's own samples (Azure-Samples
# azure-functions-flex-consumption-samples, Azure Verified Modules); functionAppConfig needs
# Microsoft.Web >= 2023-12-01. Changing a version means re-checking it, hence a test.
API_VERSIONS = {
    "Microsoft.Resources/resourceGroups": "2024-03-01",
    "Microsoft.ManagedIdentity/userAssignedIdentities": "2024-11-30",
    "Microsoft.Storage/storageAccounts": "2024-01-01",
    "Microsoft.Storage/storageAccounts/blobServices": "2024-01-01",
    "Microsoft.Storage/storageAccounts/blobServices/containers": "2024-01-01",
    "Microsoft.Storage/storageAccounts/queueServices": "2024-01-01",
    "Microsoft.Storage/storageAccounts/queueServices/queues": "2024-01-01",
    "Microsoft.CognitiveServices/accounts": "2024-10-01",
    "Microsoft.OperationalInsights/workspaces": "2023-09-01",
    "Microsoft.Insights/components": "2020-02-02",
    "Microsoft.Authorization/roleAssignments": "2022-04-01",
    "Microsoft.Web/serverfarms": "2024-04-01",
    "Microsoft.Web/sites": "2024-04-01",
    "Microsoft.EventGrid/systemTopics": "2025-02-15",
}

# Built-in role definition IDs (the same in every tenant).
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
COGNITIVE_SERVICES_SPEECH_USER = "f2dc8367-1007-4938-bd23-fe263f013447"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"

# rbac.bicep resource -> (role ID, type of the resource it must be scoped to).
ROLE_ASSIGNMENTS = {
    "blobDataOwner": (STORAGE_BLOB_DATA_OWNER, "Microsoft.Storage/storageAccounts"),
    "queueDataContributor": (STORAGE_QUEUE_DATA_CONTRIBUTOR, "Microsoft.Storage/storageAccounts"),
    "speechUser": (COGNITIVE_SERVICES_SPEECH_USER, "Microsoft.CognitiveServices/accounts"),
    "metricsPublisher": (MONITORING_METRICS_PUBLISHER, "Microsoft.Insights/components"),
}

#: The app setting that overrides host.json's extensions.blobs.maxDegreeOfParallelism.
HOST_BLOB_CONCURRENCY = "AzureFunctionsJobHost__extensions__blobs__maxDegreeOfParallelism"

# App settings Bicep may set that no code of ours reads: the Functions host and the
# App Insights integration read them.
PLATFORM_SETTINGS = frozenset(
    {
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "AzureWebJobsStorage__blobServiceUri",
        "AzureWebJobsStorage__queueServiceUri",
        "AzureWebJobsStorage__tableServiceUri",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        # host.json's blob concurrency, overridden from the Speech quota (see test_sizing_...).
        HOST_BLOB_CONCURRENCY,
    }
)
# What an identity-based connection named PREFIX needs: PREFIX__credential etc.
CONNECTION_SUFFIXES = ("__credential", "__clientId", "__blobServiceUri", "__queueServiceUri")

# Flex Consumption takes these from functionAppConfig or has no use for them ("Flex Consumption
# plan deprecations" in the Functions app settings reference); setting them breaks or is ignored.
FLEX_DEPRECATED_SETTINGS = frozenset(
    {
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
        "FUNCTIONS_WORKER_RUNTIME_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
        "SCM_DO_BUILD_DURING_DEPLOYMENT",
        "ENABLE_ORYX_BUILD",
        "WEBSITE_NODE_DEFAULT_VERSION",
        "WEBSITE_TIME_ZONE",
        "AzureWebJobsStorage",
    }
)


# ---------------------------------------------------------------------------------------------
# Parsing helpers


@functools.cache
def _tree_sitter() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bicep.language()))


def _syntax_errors(text: str) -> list[str]:
    """Syntax problems either grammar reports (empty when both accept the text)."""
    problems = []
    tree = _tree_sitter().parse(text.encode())
    if tree.root_node.has_error:
        problems.append(f"tree-sitter-bicep: error near line {_first_error_line(tree.root_node)}")
    try:
        BicepParser().parse(text=text)
    except (LarkError, ValueError) as exc:  # pycep: lark's syntax errors, or ValueError from its pre-check
        problems.append(f"pycep-parser: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    return problems


def _first_error_line(node: tree_sitter.Node) -> int:
    if node.is_error or node.is_missing:
        return node.start_point[0] + 1
    for child in node.children:
        if child.has_error or child.is_missing:
            return _first_error_line(child)
    return node.start_point[0] + 1


@functools.cache
def _bicep(path: Path) -> dict:
    """The template as pycep's JSON model, with quoted object keys unquoted."""
    return _unquote(BicepParser().parse(file_path=path))


def _unquote(value):
    if isinstance(value, dict):
        return {(k[1:-1] if k.startswith("'") and k.endswith("'") else k): _unquote(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    return value


def _module(name: str) -> dict:
    return _bicep(MODULES / f"{name}.bicep")


def _resource(template: dict, symbol: str) -> dict:
    """A resource's body (the loop body for `[for ...]` resources, the `if` body for conditional ones)."""
    config = template["resources"][symbol]["config"]
    return config["config"] if "loop_type" in config or "condition" in config else config


def _accessor(operand_1: str, operand_2: str) -> dict:
    return {"operator": {"type": "property_accessor", "operands": {"operand_1": operand_1, "operand_2": operand_2}}}


def _app_settings() -> dict:
    """The function app's settings: the `appSettings` object that siteConfig.appSettings is built from."""
    function = _module("function")
    site_config = _resource(function, "app")["properties"]["siteConfig"]
    assert site_config["appSettings"]["loop_type"]["detail"]["array_name"] == {
        "function": {"type": "items", "parameters": {"arg_1": "appSettings"}}
    }, "siteConfig.appSettings must be generated from the appSettings variable, the one list of names"
    return function["variables"]["appSettings"]["value"]


def _text_without_comments(path: Path) -> str:
    return "\n".join(re.sub(r"//.*$", "", line) for line in path.read_text().splitlines())


# ---------------------------------------------------------------------------------------------
# Syntax: two real Bicep grammars, and proof that they reject broken input


def test_infra_has_the_expected_templates():
    names = {p.relative_to(INFRA).as_posix() for p in BICEP_FILES}
    assert names == {
        "main.bicep",
        "app/identity.bicep",
        "app/storage.bicep",
        "app/speech.bicep",
        "app/monitoring.bicep",
        "app/rbac.bicep",
        "app/function.bicep",
        "app/eventgrid.bicep",
    }


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_template_parses_with_both_bicep_grammars(path):
    assert _syntax_errors(path.read_text()) == []


def _breakages(text: str) -> dict[str, str]:
    last_brace = text.rindex("}")
    return {
        "unclosed object": text[:last_brace] + text[last_brace + 1 :],
        "missing resource type string": re.sub(r"resource (\w+) '[^']+'", r"resource \1", text, count=1),
        "unterminated string": _drop_first_code_quote(text),
    }


def _drop_first_code_quote(text: str) -> str:
    offset = 0
    for line in text.splitlines(keepends=True):
        code = line.split("//", 1)[0]
        if "'" in code:
            at = offset + code.index("'")
            return text[:at] + text[at + 1 :]
        offset += len(line)
    return text


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_parsers_reject_a_broken_copy(path):
    """Guards the guard: each grammar on its own must fail a damaged copy of every template."""
    for breakage, broken in _breakages(path.read_text()).items():
        if broken == path.read_text():
            continue
        tree = _tree_sitter().parse(broken.encode())
        assert tree.root_node.has_error, f"tree-sitter-bicep accepted {path.name} with an {breakage}"
        with pytest.raises((LarkError, ValueError)):
            BicepParser().parse(text=broken)


# ---------------------------------------------------------------------------------------------
# Structure: what the Bicep CLI would have caught at build time


def test_api_versions_are_pinned_known_and_not_preview():
    seen = {}
    for path in BICEP_FILES:
        for symbol, resource in _bicep(path).get("resources", {}).items():
            where = f"{path.name}:{symbol}"
            assert resource["type"] in API_VERSIONS, f"{where}: {resource['type']} has no confirmed API version"
            assert resource["api_version"] == API_VERSIONS[resource["type"]], where
            assert "preview" not in resource["api_version"], where
            seen[resource["type"]] = where
    assert set(seen) == set(API_VERSIONS), "API_VERSIONS lists types no template uses"


def test_modules_are_local_files_and_all_used():
    modules = _bicep(MAIN)["modules"]
    paths = set()
    for symbol, module in modules.items():
        assert module["type"] == "local", f"{symbol}: registry modules are not allowed; write the resource"
        path = (INFRA / module["detail"]["path"]).resolve()
        assert path.is_file(), f"{symbol}: {path} does not exist"
        paths.add(path)
    assert paths == {p.resolve() for p in MODULES.glob("*.bicep")}, "a module file is not wired into main.bicep"


def test_module_calls_match_module_parameters():
    """Each module call passes every parameter without a default, and nothing the module does not declare."""
    for symbol, module in _bicep(MAIN)["modules"].items():
        declared = _bicep((INFRA / module["detail"]["path"]).resolve())["parameters"]
        passed = set(module["config"]["params"])
        required = {name for name, p in declared.items() if p["default"] is None}
        assert passed <= set(declared), f"{symbol}: unknown params {passed - set(declared)}"
        assert required <= passed, f"{symbol}: missing params {required - passed}"


def test_module_outputs_referenced_exist():
    modules = _bicep(MAIN)["modules"]
    for symbol, output in re.findall(r"\b(\w+)\.outputs\.(\w+)", _text_without_comments(MAIN)):
        assert symbol in modules, f"{symbol}.outputs.{output}: no such module"
        outputs = _bicep((INFRA / modules[symbol]["detail"]["path"]).resolve()).get("outputs", {})
        assert output in outputs, f"module {symbol} has no output {output}"


def test_abbreviations_used_exist():
    abbreviations = json.loads((INFRA / "abbreviations.json").read_text())
    used = set(re.findall(r"\babbrs\.(\w+)", _text_without_comments(MAIN)))
    assert used, used - set(abbreviations)
    assert used <= set(abbreviations), used - set(abbreviations)
    assert _bicep(MAIN)["variables"]["abbrs"]["value"]["function"]["type"] == "load_json_content"


def test_subscription_scope_resource_token_and_tags():
    main = _bicep(MAIN)
    assert main["globals"]["scope"]["value"] == "subscription"
    assert main["resources"]["rg"]["type"] == "Microsoft.Resources/resourceGroups"
    assert re.search(
        r"var resourceToken = toLower\(uniqueString\(subscription\(\)\.id, environmentName, location\)\)",
        MAIN.read_text(),
    )
    assert main["variables"]["tags"]["value"] == {"azd-env-name": "environmentName"}
    for symbol, module in main["modules"].items():
        assert module["config"]["scope"] == "rg", f"{symbol} must deploy into the created resource group"
        if "tags" in _bicep((INFRA / module["detail"]["path"]).resolve())["parameters"]:
            assert module["config"]["params"]["tags"] == "tags", f"{symbol} does not get the azd tags"
    location = main["parameters"]["location"]["decorators"]
    assert {"type": "metadata", "argument": {"azd": {"type": "location"}}} in location


def test_parameter_defaults():
    params = _bicep(MAIN)["parameters"]
    defaults = {name: p["default"] for name, p in params.items()}
    assert defaults["instanceMemoryMB"] == 2048
    assert defaults["speechSku"] == "S0"
    assert defaults["sweepSchedule"] == importlib.import_module("shared.settings").Settings.sweep_schedule
    assert defaults["speechLanguage"] == "en-US"
    assert defaults["inputContainerName"] == "audio-in"
    assert defaults["outputContainerName"] == "transcripts"
    assert defaults["principalId"] == ""
    assert defaults["principalType"] == "User"


def test_parameters_file_matches_main_parameters():
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    declared = _bicep(MAIN)["parameters"]
    required = {name for name, p in declared.items() if p["default"] is None}
    assert set(parameters) <= set(declared), f"not parameters of main.bicep: {set(parameters) - set(declared)}"
    assert required <= set(parameters), f"azd would prompt for: {required - set(parameters)}"
    assert parameters["environmentName"] == {"value": "${AZURE_ENV_NAME}"}
    assert parameters["location"] == {"value": "${AZURE_LOCATION}"}
    assert parameters["principalId"] == {"value": "${AZURE_PRINCIPAL_ID}"}
    assert parameters["principalType"] == {"value": "${AZURE_PRINCIPAL_TYPE=User}"}


# ---------------------------------------------------------------------------------------------
# Policy: keyless everywhere, TLS, the right roles on the right scopes


def test_no_keys_or_connection_secrets_anywhere_in_infra():
    forbidden = re.compile(
        r"listKeys\(|listkeys|AccountKey=|SharedAccessKey|InstrumentationKey=|listConnectionStrings|primaryKey",
        re.IGNORECASE,
    )
    for path in [*BICEP_FILES, *INFRA.glob("*.json")]:
        hit = forbidden.search(path.read_text())
        assert hit is None, f"{path.relative_to(ROOT)} mentions {hit.group(0)!r}"


def test_storage_is_keyless_private_and_tls_only():
    storage = _module("storage")
    props = _resource(storage, "storage")["properties"]
    assert props["allowSharedKeyAccess"] is False
    assert props["allowBlobPublicAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["supportsHttpsTrafficOnly"] is True
    assert _resource(storage, "containers")["properties"]["publicAccess"] == "None"


def test_storage_containers_for_audio_transcripts_and_package():
    storage_call = _bicep(MAIN)["modules"]["storage"]["config"]["params"]
    assert storage_call["containerNames"] == ["inputContainerName", "outputContainerName", "deploymentContainerName"]
    function_call = _bicep(MAIN)["modules"]["functionApp"]["config"]["params"]
    assert function_call["deploymentContainerName"] == "deploymentContainerName"


def test_speech_accepts_entra_tokens_only():
    speech = _resource(_module("speech"), "speech")
    assert speech["kind"] == "SpeechServices"
    assert speech["sku"] == {"name": "sku"}  # speechSku: S0 by default (test_parameter_defaults), or F0
    assert _bicep(MAIN)["modules"]["speech"]["config"]["params"]["sku"] == "speechSku"
    assert speech["properties"]["disableLocalAuth"] is True
    # Entra ID tokens work only against the custom subdomain; the regional endpoint wants keys.
    assert speech["properties"]["customSubDomainName"] == "name"
    assert _module("speech")["outputs"]["endpoint"]["value"] == _accessor("speech", _accessor("properties", "endpoint"))


def test_application_insights_rejects_instrumentation_key_ingestion():
    monitoring = _module("monitoring")
    component = _resource(monitoring, "appInsights")["properties"]
    assert component["DisableLocalAuth"] is True
    assert component["WorkspaceResourceId"] == _accessor("logAnalytics", "id")
    assert _resource(monitoring, "logAnalytics")["properties"]["features"]["disableLocalAuth"] is True


@pytest.mark.parametrize("symbol", sorted(ROLE_ASSIGNMENTS))
def test_role_assignment(symbol):
    rbac = _module("rbac")
    role_id, scope_type = ROLE_ASSIGNMENTS[symbol]
    resource = rbac["resources"][symbol]
    assert resource["type"] == "Microsoft.Authorization/roleAssignments"
    assert resource["config"]["loop_type"]["detail"] == {"item_name": "principal", "array_name": "principals"}
    body = _resource(rbac, symbol)

    role_var = body["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
    assert rbac["variables"][role_var]["value"] == role_id, f"{symbol}: {role_var} is not the built-in role"
    assert body["properties"]["roleDefinitionId"]["function"]["type"] == "subscription_resource_id"

    scope = body["scope"]
    assert rbac["resources"][scope]["type"] == scope_type, f"{symbol} must be scoped to its {scope_type}"
    assert rbac["resources"][scope]["existing"] is True
    assert body["name"] == {
        "function": {
            "type": "guid",
            "parameters": {
                "base_string": _accessor(scope, "id"),
                "extra_string_1": _accessor("principal", "id"),
                "extra_string_2": role_var,
            },
        }
    }
    assert body["properties"]["principalId"] == _accessor("principal", "id")
    assert body["properties"]["principalType"] == _accessor("principal", "type")
    # A comment names each role next to its GUID.
    assert re.search(rf"//[^\n]+\nvar {role_var} = '{role_id}'", (MODULES / "rbac.bicep").read_text())


def test_roles_go_to_the_identity_and_optionally_the_user():
    rbac = _module("rbac")
    assert rbac["variables"]["appPrincipals"]["value"] == [{"id": "identityPrincipalId", "type": "ServicePrincipal"}]
    user = rbac["variables"]["userPrincipals"]["value"]["operator"]
    assert user["type"] == "conditional"
    assert user["operands"]["condition"] == {
        "function": {"type": "empty", "parameters": {"item_to_test": "userPrincipalId"}}
    }
    assert user["operands"]["true_value"] == []
    assert user["operands"]["false_value"] == [{"id": "userPrincipalId", "type": "userPrincipalType"}]
    assert rbac["parameters"]["userPrincipalId"]["default"] == ""
    assert rbac["parameters"]["userPrincipalType"]["default"] == "User"
    rbac_call = _bicep(MAIN)["modules"]["rbac"]["config"]["params"]
    assert rbac_call["userPrincipalId"] == "principalId"
    assert rbac_call["userPrincipalType"] == "principalType"
    assert rbac_call["identityPrincipalId"] == _accessor("identity", _accessor("outputs", "principalId"))


def test_flex_consumption_plan_and_python_runtime():
    function = _module("function")
    plan = _resource(function, "plan")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["kind"] == "functionapp"
    assert plan["properties"]["reserved"] is True

    app = _resource(function, "app")
    assert app["kind"] == "functionapp,linux"
    assert app["properties"]["httpsOnly"] is True
    assert app["properties"]["siteConfig"]["minTlsVersion"] == "1.2"
    assert app["tags"]["function"]["parameters"]["arg_2"] == {"azd-service-name": "api"}
    assert app["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {"${identityId}": {}}}

    config = app["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.13"}
    assert config["scaleAndConcurrency"] == {
        "instanceMemoryMB": "instanceMemoryMB",
        "maximumInstanceCount": "maximumInstanceCount",
    }
    assert "alwaysReady" not in config["scaleAndConcurrency"], "always-ready instances bill while idle"
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["value"] == "${blobServiceUri}/${deploymentContainerName}"
    assert storage["authentication"] == {"type": "UserAssignedIdentity", "userAssignedIdentityResourceId": "identityId"}


def test_event_grid_system_topic_on_the_storage_account():
    eventgrid = _module("eventgrid")
    topic = _resource(eventgrid, "topic")
    assert topic["properties"]["topicType"] == "Microsoft.Storage.StorageAccounts"
    assert topic["properties"]["source"] == _accessor("storage", "id")
    assert eventgrid["resources"]["storage"]["type"] == "Microsoft.Storage/storageAccounts"


# ---------------------------------------------------------------------------------------------
# App settings: Flex rules, identity-based connections, and the contract with the code


def test_no_flex_deprecated_or_key_based_settings():
    names = set(_app_settings())
    assert not names & FLEX_DEPRECATED_SETTINGS, names & FLEX_DEPRECATED_SETTINGS


def test_storage_connections_are_identity_based():
    settings = _app_settings()
    for prefix in ("AzureWebJobsStorage", "AudioStorage"):
        assert settings[f"{prefix}__credential"] == "managedidentity"
        assert settings[f"{prefix}__clientId"] == "identityClientId"
        assert settings[f"{prefix}__blobServiceUri"] == "blobServiceUri"
        assert settings[f"{prefix}__queueServiceUri"] == "queueServiceUri"
    variables = _module("function")["variables"]
    assert (
        variables["blobServiceUri"]["value"] == "https://${storageAccountName}.blob.${environment().suffixes.storage}"
    )
    assert (
        variables["queueServiceUri"]["value"] == "https://${storageAccountName}.queue.${environment().suffixes.storage}"
    )


def test_identity_speech_and_telemetry_settings():
    settings = _app_settings()
    assert settings["AZURE_CLIENT_ID"] == "identityClientId"
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "ClientId=${identityClientId};Authorization=AAD"
    assert settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] == "applicationInsightsConnectionString"
    assert settings["SPEECH_ENDPOINT"] == "speechEndpoint"
    assert settings["SPEECH_LANGUAGE"] == "speechLanguage"
    assert settings["INPUT_CONTAINER"] == "inputContainerName"
    assert settings["OUTPUT_CONTAINER"] == "outputContainerName"
    function_call = _bicep(MAIN)["modules"]["functionApp"]["config"]["params"]
    assert function_call["speechEndpoint"] == _accessor("speech", _accessor("outputs", "endpoint"))
    assert function_call["identityClientId"] == _accessor("identity", _accessor("outputs", "clientId"))


def _indexed_functions() -> tuple:
    """function_app's functions, indexed once for the whole suite (see ``tests/app_functions.py``)."""
    return tuple(app_functions().values())


def _code_contract() -> tuple[frozenset[str], frozenset[str], set[str], set[str]]:
    """(REQUIRED_SETTINGS, APP_SETTING_NAMES, connection prefixes, %NAME% settings) from the code.

    The binding dictionaries are what the Functions host resolves against the app settings, so
    they are the contract, not a copy of it.
    """
    settings = importlib.import_module("shared.settings")
    prefixes = {settings.STORAGE_CONNECTION}
    percent_names: set[str] = set()
    for function in _indexed_functions():
        for binding in function.get_bindings():
            entry = binding.get_dict_repr()
            if entry.get("connection"):
                prefixes.add(str(entry["connection"]))
            for value in entry.values():
                percent_names.update(re.findall(r"%(\w+)%", str(value)))
    return settings.REQUIRED_SETTINGS, settings.APP_SETTING_NAMES, prefixes, percent_names


def test_bicep_sets_everything_the_code_needs():
    required, _, prefixes, percent_names = _code_contract()
    needed = set(required) | percent_names | {p + s for p in prefixes for s in CONNECTION_SUFFIXES}
    missing = needed - set(_app_settings())
    assert not missing, f"the code reads settings infra/app/function.bicep does not set: {sorted(missing)}"


def test_bicep_sets_nothing_the_code_does_not_read():
    _, names, prefixes, percent_names = _code_contract()
    allowed = set(names) | percent_names | {p + s for p in prefixes for s in CONNECTION_SUFFIXES} | PLATFORM_SETTINGS
    unknown = set(_app_settings()) - allowed
    assert not unknown, f"settings no code reads (typo, or add to APP_SETTING_NAMES): {sorted(unknown)}"
    # A bare connection name would be a connection string, i.e. an account key.
    assert not set(_app_settings()) & prefixes


def test_post_deploy_targets_the_event_grid_blob_trigger():
    function_name = re.search(r'FUNCTION_NAME="\$\{FUNCTION_NAME:-(\w+)\}"', POST_DEPLOY.read_text()).group(1)
    assert function_name == "transcribe_blob"
    functions = {f.get_function_name(): f for f in _indexed_functions()}
    assert function_name in functions, f"function_app has no function {function_name}: {sorted(functions)}"
    triggers = [b.get_dict_repr() for b in functions[function_name].get_bindings()]
    blob = [t for t in triggers if t.get("type") == "blobTrigger"]
    assert blob, f"{function_name} is not blob-triggered"
    assert str(blob[0].get("source", "")).lower().endswith("eventgrid"), "the webhook only feeds Event Grid sources"
    assert str(blob[0]["path"]).startswith("%INPUT_CONTAINER%/"), "the subscription filters on INPUT_CONTAINER"


# ---------------------------------------------------------------------------------------------
# azd wiring: azure.yaml, outputs, and the post-deploy script (run against a stub `az`)


def _post_deploy_vars() -> list[str]:
    return re.search(r'^REQUIRED_VARS="([^"]+)"', POST_DEPLOY.read_text(), re.MULTILINE).group(1).split()


def test_azure_yaml_one_python_function_service_and_postdeploy_hook():
    config = yaml.safe_load((ROOT / "azure.yaml").read_text())
    assert config["services"] == {"api": {"project": ".", "language": "python", "host": "function"}}
    hook = config["hooks"]["postdeploy"]["posix"]
    assert hook["shell"] == "sh"
    assert hook["run"] == "./scripts/post-deploy.sh"
    assert os.access(POST_DEPLOY, os.X_OK)


def test_main_outputs_what_the_hook_reads():
    outputs = _bicep(MAIN)["outputs"]
    assert set(_post_deploy_vars()) <= set(outputs)
    assert outputs["INPUT_CONTAINER"]["value"] == "inputContainerName"
    assert outputs["RESOURCE_GROUP"]["value"] == _accessor("rg", "name")


def test_post_deploy_script_is_strict_bash():
    text = POST_DEPLOY.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    subprocess.run(["bash", "-n", str(POST_DEPLOY)], check=True)


STUB_AZ = r"""#!/usr/bin/env bash
{ printf '%s\n' "$@"; printf -- '--END--\n'; } >> "$STUB_DIR/az.log"
case "$1 $2 $3" in
  "functionapp keys list")
    calls=$(( $(cat "$STUB_DIR/key-calls" 2> /dev/null || echo 0) + 1 ))
    echo "$calls" > "$STUB_DIR/key-calls"
    if [ "$calls" -gt "${STUB_KEY_AFTER:-0}" ]; then echo "s3cr3t-key"; fi ;;
  "functionapp show --name") echo "$4.azurewebsites.net" ;;
  "functionapp config appsettings") echo "${STUB_SECRET-0123456789abcdef0123456789abcdef}" ;;
  "rest --method get") [ -z "${STUB_OLD_HOOK:-}" ] || echo "$STUB_OLD_HOOK" ;;
  "rest --method post")
    for arg in "$@"; do case "$arg" in @*) cat "${arg#@}" >> "$STUB_DIR/hook-bodies" ;; esac; done ;;
esac
"""

STUB_AZD = r"""#!/usr/bin/env bash
[ "$*" = "env get-values" ] || exit 64
cat << 'EOF'
AZURE_ENV_NAME="dev"
AZURE_FUNCTION_APP_NAME="func-fromazd"
RESOURCE_GROUP="rg-dev"
EVENT_GRID_SYSTEM_TOPIC_NAME="egst-fromazd"
INPUT_CONTAINER="audio-in"
SPEECH_ENDPOINT="https://spch-fromazd.cognitiveservices.azure.com/"
EOF
"""


@pytest.fixture
def stub_cli(tmp_path):
    """A PATH with fake `az` (and optionally `azd`) that record their calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "az").write_text(STUB_AZ)
    (bin_dir / "az").chmod(0o755)
    bash_dir = Path(shutil.which("bash")).parent

    def run(*args: str, azd: bool = False, **env: str) -> subprocess.CompletedProcess:
        if azd:
            (bin_dir / "azd").write_text(STUB_AZD)
            (bin_dir / "azd").chmod(0o755)
        environment = {
            "PATH": f"{bin_dir}:{bash_dir}:/usr/bin:/bin",
            "STUB_DIR": str(tmp_path),
            "KEY_WAIT_SECONDS": "0",
            **env,
        }
        return subprocess.run(
            ["bash", str(POST_DEPLOY), *args], env=environment, capture_output=True, text=True, timeout=30
        )

    def calls() -> list[list[str]]:
        log = tmp_path / "az.log"
        if not log.exists():
            return []
        chunks = log.read_text().split("--END--\n")
        return [chunk.splitlines() for chunk in chunks if chunk]

    run.calls = calls
    run.dir = tmp_path
    return run


def _option(call: list[str], name: str) -> str:
    return call[call.index(name) + 1]


def _subscription(stub_cli) -> list[str]:
    """The last ``event-subscription create`` the script made."""
    return [c for c in stub_cli.calls() if c[:4] == ["eventgrid", "system-topic", "event-subscription", "create"]][-1]


POST_DEPLOY_ARGS = (
    "--app",
    "func-abc",
    "--resource-group",
    "rg-x",
    "--topic",
    "egst-abc",
    "--container",
    "audio-in",
    "--speech-endpoint",
    "https://spch-abc.cognitiveservices.azure.com/",
)


def test_post_deploy_subscribes_the_webhook_idempotently(stub_cli):
    args = POST_DEPLOY_ARGS
    for _ in range(2):  # a re-run issues the same PUT, not an error
        result = stub_cli(*args)
        assert result.returncode == 0, result.stderr
        assert "s3cr3t-key" not in result.stderr, "the webhook key must not be logged"
    creates = [c for c in stub_cli.calls() if c[:4] == ["eventgrid", "system-topic", "event-subscription", "create"]]
    assert len(creates) == 2
    assert creates[0] == creates[1]
    create = creates[0]
    assert _option(create, "--resource-group") == "rg-x"
    assert _option(create, "--system-topic-name") == "egst-abc"
    assert _option(create, "--endpoint-type") == "webhook"
    assert _option(create, "--endpoint") == (
        "https://func-abc.azurewebsites.net/runtime/webhooks/blobs"
        "?functionName=Host.Functions.transcribe_blob&code=s3cr3t-key"
    )
    assert _option(create, "--included-event-types") == "Microsoft.Storage.BlobCreated"
    assert _option(create, "--subject-begins-with") == "/blobServices/default/containers/audio-in/"
    keys = [c for c in stub_cli.calls() if c[:3] == ["functionapp", "keys", "list"]]
    assert _option(keys[0], "--query") == "systemKeys.blobs_extension"


def test_post_deploy_reads_the_azd_environment(stub_cli):
    result = stub_cli(azd=True)
    assert result.returncode == 0, result.stderr
    create = _subscription(stub_cli)
    assert _option(create, "--system-topic-name") == "egst-fromazd"
    assert _option(create, "--endpoint").startswith("https://func-fromazd.azurewebsites.net/")
    assert _option(create, "--resource-group") == "rg-dev"


def test_post_deploy_exported_values_win_over_azd(stub_cli):
    result = stub_cli(azd=True, RESOURCE_GROUP="rg-exported")
    assert result.returncode == 0, result.stderr
    assert _option(_subscription(stub_cli), "--resource-group") == "rg-exported"


def test_post_deploy_waits_for_the_key(stub_cli):
    result = stub_cli(azd=True, STUB_KEY_AFTER="2")
    assert result.returncode == 0, result.stderr
    assert len([c for c in stub_cli.calls() if c[:3] == ["functionapp", "keys", "list"]]) == 3


def test_post_deploy_gives_up_when_the_key_never_appears(stub_cli):
    result = stub_cli(azd=True, STUB_KEY_AFTER="99", KEY_ATTEMPTS="3")
    assert result.returncode == 1
    assert "blobs_extension" in result.stderr
    assert not [c for c in stub_cli.calls() if c[:1] == ["eventgrid"]]


def test_post_deploy_names_what_is_missing(stub_cli):
    result = stub_cli("--app", "func-abc")
    assert result.returncode == 2
    for name in ("RESOURCE_GROUP", "EVENT_GRID_SYSTEM_TOPIC_NAME", "INPUT_CONTAINER", "SPEECH_ENDPOINT"):
        assert name in result.stderr
    assert stub_cli.calls() == []


# ---------------------------------------------------------------------------------------------
# checkov: the security scan, with parse errors counted as failures


def _checkov(directory: Path) -> tuple[subprocess.CompletedProcess, dict]:
    if not CHECKOV_BIN.exists():
        pytest.skip(
            f"checkov not installed at {CHECKOV_BIN} (python3 -m venv .venv-checkov && "
            ".venv-checkov/bin/pip install checkov==3.3.30), or set CHECKOV_BIN"
        )
    env = {**os.environ, "CKV_PARSE_ERROR_FAIL": "true"}
    result = subprocess.run(
        [str(CHECKOV_BIN), "--config-file", str(ROOT / ".checkov.yaml"), "-d", str(directory), "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    report = json.loads(result.stdout)
    return result, report["summary"]


def test_checkov_passes_on_infra():
    result, summary = _checkov(INFRA)
    assert summary["parsing_errors"] == 0, result.stdout[-2000:]
    assert summary["failed"] == 0, result.stdout[-4000:]
    assert summary["passed"] > 0
    assert result.returncode == 0, result.stderr[-2000:]


def test_checkov_fails_on_a_template_it_cannot_parse(tmp_path):
    broken = tmp_path / "infra"
    shutil.copytree(INFRA, broken)
    identity = broken / "app" / "identity.bicep"
    identity.write_text(identity.read_text().replace("resource identity '", "resource identity = {'", 1))
    result, summary = _checkov(broken)
    assert summary["parsing_errors"] >= 1
    assert result.returncode != 0


def test_every_checkov_skip_has_a_reason():
    config_text = (ROOT / ".checkov.yaml").read_text()
    skipped = yaml.safe_load(config_text)["skip-check"]
    assert skipped, "no skips is fine too, but then drop the key"
    for check in skipped:
        assert re.search(rf"^\s*#.*\b{check}\b", config_text, re.MULTILINE), f"{check} is skipped without a reason"


# ---------------------------------------------------------------------------------------------
# Sizing: a full scale-out stays within the Speech quota


_BICEP_OPERATORS = {
    "divide": lambda a, b: a // b,
    "substract": lambda a, b: a - b,
    "add": lambda a, b: a + b,
    "multiply": lambda a, b: a * b,
}


def _evaluate(expression, names: dict[str, int]) -> int:
    """An integer Bicep expression of pycep's model: numbers, names, min/max, + - * /."""
    if isinstance(expression, int):
        return expression
    if isinstance(expression, str):
        return names[expression]
    if "function" in expression:
        function = expression["function"]
        args = [_evaluate(arg, names) for arg in function["parameters"].values()]
        return {"min": min, "max": max}[function["type"]](*args)
    operator = expression["operator"]
    operands = [_evaluate(value, names) for value in operator["operands"].values()]
    return _BICEP_OPERATORS[operator["type"]](*operands)


def _bicep_sizing(quota: int) -> dict[str, int]:
    variables = _bicep(MAIN)["variables"]
    names = {"speechConcurrentSessions": quota}
    for name in ("sweepConcurrency", "blobConcurrency", "maximumInstanceCount"):
        names[name] = _evaluate(variables[name]["value"], names)
    return names


def test_sizing_keeps_a_full_scale_out_within_the_speech_quota_and_matches_the_capacity_model():
    from bench.capacity.sizing import deployment_for_quota, sweep_concurrency_for_quota

    for quota in range(1, 1001):
        bicep = _bicep_sizing(quota)
        sweep = sweep_concurrency_for_quota(quota)
        model = deployment_for_quota(quota, sweep)
        assert (bicep["sweepConcurrency"], bicep["blobConcurrency"], bicep["maximumInstanceCount"]) == (
            sweep,
            model.per_instance,
            model.instances,
        ), quota
        if quota >= 2:  # with 1 (F0), one invocation and the sweep may overlap: the second waits its turn
            assert model.concurrency + sweep <= quota, quota


def _string_of(name: str) -> dict:
    return {"function": {"type": "string", "parameters": {"value_to_convert": name}}}


def test_the_sizing_reaches_the_app_and_host_json_agrees_at_the_default_quota():
    settings = _app_settings()
    assert settings[HOST_BLOB_CONCURRENCY] == _string_of("blobConcurrency")
    assert settings["SWEEP_CONCURRENCY"] == _string_of("sweepConcurrency")
    call = _bicep(MAIN)["modules"]["functionApp"]["config"]["params"]
    assert call["maximumInstanceCount"] == "maximumInstanceCount"
    assert call["blobConcurrency"] == "blobConcurrency"
    # S0's default quota is 100 sessions, F0's is 1
    assert "param speechConcurrentSessions int = speechSku == 'F0' ? 1 : 100" in _text_without_comments(MAIN)
    default = _bicep_sizing(100)
    host = json.loads((ROOT / "host.json").read_text())
    assert host["extensions"]["blobs"]["maxDegreeOfParallelism"] == default["blobConcurrency"] == 4
    assert (default["maximumInstanceCount"], default["sweepConcurrency"]) == (24, 4)  # 24 x 4 + 4 = 100 sessions


def test_the_operational_defaults_set_in_bicep_are_the_codes_own():
    """A setting Bicep spells out with the code's default must not drift from that default."""
    settings_module = importlib.import_module("shared.settings")
    defaults = settings_module.Settings.from_env({"SPEECH_ENDPOINT": "ws://127.0.0.1:1"})
    expected = {
        "SPEECH_START_RETRY_SECONDS": f"{defaults.speech_start_retry_seconds:g}",
        "MAX_ATTEMPTS": str(defaults.max_attempts),
        "JOB_QUEUED_TTL_MINUTES": f"{defaults.job_queued_ttl_minutes:g}",
        "SPEECH_WORDS": str(defaults.recognition.words).lower(),
        "SPEECH_PROFANITY": defaults.recognition.profanity,
        "SPEECH_DIARIZATION": str(defaults.recognition.diarization).lower(),
        "SPEECH_ENGINE": defaults.recognition.engine,
    }
    assert {name: _app_settings()[name] for name in expected} == expected


# ---------------------------------------------------------------------------------------------
# Batch transcription: the Speech resource reads recordings as a trusted service, the web hook's key


def test_the_speech_resource_has_its_own_identity_and_reads_the_storage_account_with_it():
    """Trusted-service access needs a system-assigned identity (a user-assigned one does not qualify), Storage
    Blob Data Reader on the account, and a resource-instance rule: then a plain URL, no SAS, is enough."""
    speech = _module("speech")
    assert _resource(speech, "speech")["identity"] == {"type": "SystemAssigned"}
    assert speech["outputs"]["principalId"]["value"] == _accessor("speech", _accessor("identity", "principalId"))
    rbac = _module("rbac")
    reader = rbac["resources"]["speechBlobReader"]
    assert reader["type"] == "Microsoft.Authorization/roleAssignments"
    assert "loop_type" not in reader["config"], "the Speech resource's grant is its own, not the principals'"
    body = _resource(rbac, "speechBlobReader")
    assert rbac["variables"]["storageBlobDataReaderRoleId"]["value"] == STORAGE_BLOB_DATA_READER
    assert re.search(
        rf"//[^\n]+\nvar storageBlobDataReaderRoleId = '{STORAGE_BLOB_DATA_READER}'",
        (MODULES / "rbac.bicep").read_text(),
    )
    assert body["scope"] == "storage"
    assert body["name"] == {
        "function": {
            "type": "guid",
            "parameters": {
                "base_string": _accessor("storage", "id"),
                "extra_string_1": "speechPrincipalId",
                "extra_string_2": "storageBlobDataReaderRoleId",
            },
        }
    }
    assert (body["properties"]["principalId"], body["properties"]["principalType"]) == (
        "speechPrincipalId",
        "ServicePrincipal",
    )
    calls = _bicep(MAIN)["modules"]
    assert calls["rbac"]["config"]["params"]["speechPrincipalId"] == _accessor(
        "speech", _accessor("outputs", "principalId")
    )
    assert calls["storage"]["config"]["params"]["trustedResourceIds"] == [
        _accessor("speech", _accessor("outputs", "id"))
    ]


def test_the_storage_account_lets_the_trusted_resources_through_by_resource_instance_rules():
    acls = _resource(_module("storage"), "storage")["properties"]["networkAcls"]
    assert acls["bypass"] == "AzureServices"
    rules = acls["resourceAccessRules"]
    assert rules["loop_type"]["detail"] == {"item_name": "resourceId", "array_name": "trustedResourceIds"}
    assert rules["config"]["resourceId"] == "resourceId"
    text = _text_without_comments(MODULES / "storage.bicep")
    assert "tenantId: tenant().tenantId" in text


def test_the_web_hook_secret_is_a_secure_parameter_generated_per_environment_and_set_as_the_app_setting():
    main = _bicep(MAIN)["parameters"]["speechWebhookSecret"]
    decorators = [d["type"] for d in main["decorators"]]
    assert "secure" in decorators
    assert main["default"] is None, "no default: a secure parameter's default is a hard-coded secret (checkov)"
    from shared.settings.model import MIN_WEBHOOK_SECRET_CHARS

    assert {"type": "min_length", "argument": MIN_WEBHOOK_SECRET_CHARS} in main["decorators"]
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert parameters["speechWebhookSecret"] == {"value": "${SPEECH_WEBHOOK_SECRET}"}
    function = _module("function")
    assert "secure" in [d["type"] for d in function["parameters"]["speechWebhookSecret"]["decorators"]]
    assert _app_settings()["SPEECH_WEBHOOK_SECRET"] == "speechWebhookSecret"
    assert _bicep(MAIN)["modules"]["functionApp"]["config"]["params"]["speechWebhookSecret"] == "speechWebhookSecret"
    assert "speechWebhookSecret" not in json.dumps(_bicep(MAIN)["outputs"]), "a secret is never an output"


def test_azure_yaml_generates_the_secret_before_provisioning():
    hook = yaml.safe_load((ROOT / "azure.yaml").read_text())["hooks"]["preprovision"]["posix"]
    assert (hook["shell"], hook["run"]) == ("sh", "./scripts/pre-provision.sh")
    assert os.access(PRE_PROVISION, os.X_OK)
    assert PRE_PROVISION.read_text().startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n", str(PRE_PROVISION)], check=True)


STUB_AZD_ENV = r"""#!/usr/bin/env bash
case "$1 $2" in
  "env get-value") [ -f "$STUB_DIR/secret" ] && cat "$STUB_DIR/secret" || exit 1 ;;
  "env set") printf '%s' "$4" > "$STUB_DIR/secret" ;;
  *) exit 64 ;;
esac
"""


def test_pre_provision_generates_the_secret_once_and_never_prints_it(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "azd").write_text(STUB_AZD_ENV)
    (bin_dir / "azd").chmod(0o755)
    env = {"PATH": f"{bin_dir}:{Path(shutil.which('bash')).parent}:/usr/bin:/bin", "STUB_DIR": str(tmp_path)}
    runs = [subprocess.run(["bash", str(PRE_PROVISION)], env=env, capture_output=True, text=True) for _ in range(2)]
    assert [run.returncode for run in runs] == [0, 0], runs[0].stderr
    secret = (tmp_path / "secret").read_text()
    assert re.fullmatch(r"[0-9a-f]{64}", secret), secret
    assert "generated" in runs[0].stderr
    assert "kept" in runs[1].stderr
    for run in runs:
        assert secret not in run.stdout + run.stderr


def test_post_deploy_registers_the_batch_web_hook_with_the_apps_secret_replacing_an_older_one(stub_cli):
    old = "https://spch-abc.cognitiveservices.azure.com/speechtotext/webhooks/1?api-version=2025-10-15"
    secret = "f" * 64
    result = stub_cli(*POST_DEPLOY_ARGS, STUB_OLD_HOOK=old, STUB_SECRET=secret)
    assert result.returncode == 0, result.stderr
    assert secret not in result.stderr, "the secret must not be logged"
    rest = [c for c in stub_cli.calls() if c[:1] == ["rest"]]
    assert [(_option(c, "--method"), _option(c, "--url")) for c in rest] == [
        ("get", "https://spch-abc.cognitiveservices.azure.com/speechtotext/webhooks?api-version=2025-10-15"),
        ("delete", old),
        ("post", "https://spch-abc.cognitiveservices.azure.com/speechtotext/webhooks?api-version=2025-10-15"),
    ]
    assert {_option(c, "--resource") for c in rest} == {"https://cognitiveservices.azure.com"}
    callback = "https://func-abc.azurewebsites.net/api/speech-callbacks"
    assert _option(rest[0], "--query") == f"values[?webUrl=='{callback}'].self"
    body = json.loads((stub_cli.dir / "hook-bodies").read_text())
    assert body == {
        "displayName": "stt-pipeline batch completions",
        "webUrl": callback,
        "events": {"transcriptionCompletion": True},
        "properties": {"secret": secret},
    }
    from tests.app_functions import binding_dicts

    assert binding_dicts("speech_callback")[0]["route"] == callback.rsplit("/api/", 1)[1]


def test_post_deploy_stops_when_the_app_has_no_web_hook_secret(stub_cli):
    result = stub_cli(*POST_DEPLOY_ARGS, STUB_SECRET="")
    assert result.returncode == 1
    assert "SPEECH_WEBHOOK_SECRET" in result.stderr
    assert not [c for c in stub_cli.calls() if c[:3] == ["rest", "--method", "post"]]
