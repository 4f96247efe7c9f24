"""Drives an esc server with the official Python ESC SDK (pulumi-esc-sdk 0.14).

Run by the Rust test `sdk::official_python_sdk_drives_the_server` with
PULUMI_BACKEND_URL and PULUMI_ACCESS_TOKEN pointing at a server it started.
Follows the SDK's own integration test sequence (spec/API.md section 7).
Any SDK error or failed check exits non-zero with a message.
"""

import sys

import pulumi_esc_sdk as esc
from pulumi_esc_sdk.esc_client import default_config

ORG = sys.argv[1]
PROJECT = "sdk-project"
BASE = "base"
ENV = "sdk-env"
CLONE_PROJECT = "sdk-clone-project"
SECRET = "my-sdk-secret-4711"


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main():
    client = esc.EscClient(default_config())

    client.create_environment(ORG, PROJECT, BASE)
    client.update_environment_yaml(ORG, PROJECT, BASE, "values:\n  baseKey: baseValue\n")
    client.create_environment(ORG, PROJECT, ENV)
    client.clone_environment(ORG, PROJECT, BASE, CLONE_PROJECT, "base-clone")

    env, raw = client.get_environment(ORG, PROJECT, ENV)
    check(env is None, f"fresh environment definition should be empty, got {env!r}")

    _, values, raw = client.open_and_read_environment(ORG, PROJECT, ENV)
    check(raw == "{}\n", f"empty environment should read as '{{}}\\n', got {raw!r}")

    yaml = f"""imports:
  - {PROJECT}/{BASE}
values:
  foo: bar
  my_secret:
    fn::secret: "{SECRET}"
  my_array: [1, 2, 3]
  pulumiConfig:
    foo: ${{foo}}
  environmentVariables:
    FOO: ${{foo}}
"""
    diags = client.update_environment_yaml(ORG, PROJECT, ENV, yaml)
    check(diags.diagnostics is None, f"update should have no diagnostics, got {diags.diagnostics!r}")

    env, raw = client.get_environment(ORG, PROJECT, ENV)
    raw_text = raw.decode() if isinstance(raw, bytes) else raw
    check(SECRET not in raw_text, "GET returned the plaintext secret")
    check("ciphertext" in raw_text, f"GET should show ciphertext: {raw_text}")
    check("${foo}" in raw_text, "GET should keep ${foo} literally")
    check(env.values.additional_properties["foo"] == "bar", f"definition foo: {env.values!r}")

    dec, dec_raw = client.decrypt_environment(ORG, PROJECT, ENV)
    check(SECRET in dec_raw, f"decrypt should reveal the secret: {dec_raw}")

    _, values, _ = client.open_and_read_environment(ORG, PROJECT, ENV)
    check(values["foo"] == "bar", f"foo: {values!r}")
    check(values["my_array"] == [1, 2, 3], f"my_array: {values!r}")
    check(values["my_secret"] == SECRET, "my_secret not revealed by open")
    check(values["pulumiConfig"]["foo"] == "bar", f"pulumiConfig: {values!r}")
    check(values["environmentVariables"]["FOO"] == "bar", f"environmentVariables: {values!r}")
    check(values["baseKey"] == "baseValue", f"imported value: {values!r}")

    opened = client.open_environment(ORG, PROJECT, ENV)
    value, resolved = client.read_open_environment_property(ORG, PROJECT, ENV, opened.id, "foo")
    check(resolved == "bar", f"property foo: {resolved!r}")
    value, resolved = client.read_open_environment_property(
        ORG, PROJECT, ENV, opened.id, "pulumiConfig.foo")
    check(resolved == "bar", f"property pulumiConfig.foo: {resolved!r}")

    env, _ = client.get_environment_at_version(ORG, PROJECT, ENV, "2")
    check(env.values.additional_properties["foo"] == "bar", "version 2")

    client.update_environment_yaml(ORG, PROJECT, ENV, yaml + "  extra: more\n")
    revisions = client.list_environment_revisions(ORG, PROJECT, ENV)
    check(len(revisions) == 3, f"revisions: {[r.number for r in revisions]}")
    check(revisions[0].number == 3, "newest first")

    client.create_environment_revision_tag(ORG, PROJECT, ENV, "testTag", 2)
    _, values, _ = client.open_and_read_environment_at_version(ORG, PROJECT, ENV, "testTag")
    check("extra" not in values, f"testTag should be revision 2: {values!r}")
    tags = client.list_environment_revision_tags(ORG, PROJECT, ENV)
    check([t.name for t in tags.tags] == ["latest", "testTag"], f"revision tags: {tags!r}")
    client.update_environment_revision_tag(ORG, PROJECT, ENV, "testTag", 3)
    tag = client.get_environment_revision_tag(ORG, PROJECT, ENV, "testTag")
    check(tag.revision == 3, f"tag revision: {tag.revision}")
    client.delete_environment_revision_tag(ORG, PROJECT, ENV, "testTag")
    tags = client.list_environment_revision_tags(ORG, PROJECT, ENV)
    check(len(tags.tags) == 1, f"one tag left: {tags!r}")

    created = client.create_environment_tag(ORG, PROJECT, ENV, "owner", "esc-sdk-test")
    check(created.value == "esc-sdk-test", f"created tag: {created!r}")
    listed = client.list_environment_tags(ORG, PROJECT, ENV)
    check(listed.tags["owner"].value == "esc-sdk-test", f"tags: {listed!r}")
    updated = client.update_environment_tag(
        ORG, PROJECT, ENV, "owner", "esc-sdk-test", "new-owner", "esc-sdk-test-updated")
    check(updated.name == "new-owner", f"updated tag: {updated!r}")
    got = client.get_environment_tag(ORG, PROJECT, ENV, "new-owner")
    check(got.value == "esc-sdk-test-updated", f"got tag: {got!r}")
    client.delete_environment_tag(ORG, PROJECT, ENV, "new-owner")
    listed = client.list_environment_tags(ORG, PROJECT, ENV)
    check(listed.tags == {}, f"tags after delete: {listed!r}")

    result = client.check_environment_yaml(ORG, "values:\n  a: 1\n")
    check(result.diagnostics is None, f"valid check: {result.diagnostics!r}")
    result = client.check_environment_yaml(ORG, "values:\n  pulumiConfig:\n    foo: ${bad_ref}\n")
    check(len(result.diagnostics) == 1, f"invalid check: {result.diagnostics!r}")
    check(result.diagnostics[0].summary == 'unknown property "bad_ref"', result.diagnostics[0].summary)

    # Check responses carry exprs (spec/API.md section 3.3): the SDK's models
    # must still parse them, index accessors (which need a "key") included.
    result = client.check_environment_yaml(
        ORG, "values:\n  list: [a, b]\n  first: ${list[1]}\n  greeting: hello-${list[0]}\n")
    check(result.diagnostics is None, f"exprs check: {result.diagnostics!r}")
    check(result.exprs is not None and "first" in result.exprs, f"exprs: {result.exprs!r}")
    check(result.properties["first"].value == "b", f"properties: {result.properties!r}")
    # An override of a member of an imported unknown (its base is an `access`).
    client.create_environment(ORG, PROJECT, "creds-source")
    client.update_environment_yaml(
        ORG, PROJECT, "creds-source",
        "values:\n  creds:\n    fn::fromJSON:\n      fn::secret: '{\"user\":\"x\"}'\n")
    result = client.check_environment_yaml(
        ORG, f"imports:\n  - {PROJECT}/creds-source\nvalues:\n  creds:\n    user: me\n")
    check(result.diagnostics is None, f"access check: {result.diagnostics!r}")
    check("creds" in result.exprs, f"exprs: {result.exprs!r}")

    names = []
    token = None
    for _ in range(100):
        page = client.list_environments(ORG, token)
        names += [(e.project, e.name) for e in page.environments]
        token = page.next_token
        if not token:
            break
    check((PROJECT, ENV) in names and (CLONE_PROJECT, "base-clone") in names, f"list: {names}")

    client.delete_environment(ORG, PROJECT, ENV)
    try:
        client.get_environment(ORG, PROJECT, ENV)
    except esc.ApiException as error:
        check(error.status == 404, f"after delete: {error.status}")
    else:
        raise AssertionError("environment still readable after delete")
    print("sdk sequence passed")


if __name__ == "__main__":
    main()
