"""Drives an esc server through the official Python ESC SDK (pulumi-esc-sdk
0.14) calls that sdk_client.py leaves out: HEAD for the ETag, updates and
checks from an EnvironmentDefinition model, clone options, paging of
revisions, revision tags and environment tags, opening at a version with a
duration, decrypting, and the SDK's view of error answers (status, parsed
Error body, diagnostics of a refused update).

Run by the Rust test `sdk_more::python_sdk_calls_beyond_the_integration_sequence`
with PULUMI_BACKEND_URL and PULUMI_ACCESS_TOKEN pointing at a server it
started. Any SDK error or failed check exits non-zero with a message.
"""

import sys

import pulumi_esc_sdk as esc
from pulumi_esc_sdk import models
from pulumi_esc_sdk.esc_client import default_config

ORG = sys.argv[1]
PROJECT = "more-project"
ENV = "more-env"
SECRET = "more-secret-0815"


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def header(response, name):
    """A response header, by case-insensitive name."""
    for key, value in (response.headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def expect_error(status, call, *args):
    """Runs call(*args), which must raise an ApiException with `status`
    and a body in the API's error shape; returns the exception."""
    try:
        call(*args)
    except esc.ApiException as error:
        check(error.status == status, f"{call.__name__}: status {error.status}, want {status}")
        check(error.body and '"code":%d' % status in error.body,
              f"{call.__name__}: error body {error.body!r}")
        return error
    raise AssertionError(f"{call.__name__} succeeded, want {status}")


def main():
    client = esc.EscClient(default_config())
    api = client.esc_api

    client.create_environment(ORG, PROJECT, ENV)

    # HEAD E: the ETag of the newest revision, the same as GET's
    head = api.get_environment_e_tag_with_http_info(ORG, PROJECT, ENV)
    check(head.status_code == 200, f"HEAD status {head.status_code}")
    etag = header(head, "ETag")
    get = api.get_environment_with_http_info(ORG, PROJECT, ENV)
    check(etag and etag == header(get, "ETag"), f"HEAD etag {etag!r} vs GET {get.headers!r}")
    check(header(get, "Pulumi-ESC-Revision") == "1", f"GET headers {get.headers!r}")

    # update from a model (the SDK dumps it as YAML), then read it back
    definition = models.EnvironmentDefinition(
        imports=[],
        values=models.EnvironmentDefinitionValues(
            pulumiConfig={"region": "eu-west-1"},
            environmentVariables={"REGION": "${pulumiConfig.region}"},
            files={"CONFIG": "a=b"},
            additional_properties={"greeting": "hello", "count": 3},
        ),
    )
    client.update_environment(ORG, PROJECT, ENV, definition)
    got, _ = client.get_environment(ORG, PROJECT, ENV)
    check(got.values.pulumi_config == {"region": "eu-west-1"}, f"pulumiConfig: {got.values!r}")
    check(got.values.environment_variables == {"REGION": "${pulumiConfig.region}"},
          f"environmentVariables: {got.values!r}")
    check(got.values.additional_properties.get("greeting") == "hello", f"values: {got.values!r}")

    # check from a model: valid, then one unknown reference
    result = client.check_environment(ORG, definition)
    check(result.diagnostics is None, f"model check: {result.diagnostics!r}")
    check(result.properties["environmentVariables"].value["REGION"]["value"] == "eu-west-1",
          f"checked properties: {result.properties!r}")
    broken = models.EnvironmentDefinition(
        values=models.EnvironmentDefinitionValues(additional_properties={"x": "${missing}"}))
    result = client.check_environment(ORG, broken)
    check(result.diagnostics and len(result.diagnostics) == 1, f"broken check: {result!r}")
    check(result.diagnostics[0].summary == 'unknown property "missing"',
          result.diagnostics[0].summary)
    check(result.diagnostics[0].range.environment == "<yaml>", f"{result.diagnostics[0]!r}")

    # a refused update: 400 with diagnostics the SDK parses, nothing stored
    error = expect_error(400, client.update_environment_yaml, ORG, PROJECT, ENV,
                         "values:\n  a: ${nope}\n")
    check(error.data is not None and len(error.data.diagnostics) == 1, f"update 400: {error.data!r}")
    check(error.data.diagnostics[0].range.environment == f"{PROJECT}/{ENV}",
          f"update diagnostics: {error.data.diagnostics!r}")
    check(len(client.list_environment_revisions(ORG, PROJECT, ENV)) == 2, "refused update stored")

    # six more revisions with a secret, to page through
    for number in range(3, 9):
        client.update_environment_yaml(
            ORG, PROJECT, ENV,
            f"values:\n  n: {number}\n  s:\n    fn::secret: {SECRET}\n")
    every = client.list_environment_revisions(ORG, PROJECT, ENV)
    check([r.number for r in every] == list(range(8, 0, -1)), f"revisions: {every!r}")
    check(every[0].tags == ["latest"], f"newest tags: {every[0].tags!r}")
    page = client.list_environment_revisions(ORG, PROJECT, ENV, before=6, count=2)
    check([r.number for r in page] == [5, 4], f"before=6 count=2: {page!r}")
    check(client.list_environment_revisions(ORG, PROJECT, ENV, before=1) == [], "before=1")

    # decrypt: the model and the plaintext
    decrypted, raw = client.decrypt_environment(ORG, PROJECT, ENV)
    check(SECRET in raw, f"decrypt: {raw!r}")
    check(decrypted.values.additional_properties["s"] == {"fn::secret": SECRET},
          f"decrypted model: {decrypted.values!r}")
    plain, plain_raw = client.get_environment(ORG, PROJECT, ENV)
    check(SECRET not in plain_raw.decode(), "GET leaked the secret")

    # open at a version (number and tag) with a duration
    opened = api.open_environment_at_version(ORG, PROJECT, ENV, "5", duration="15m0s")
    _, values, _ = client.read_open_environment(ORG, PROJECT, ENV, opened.id)
    check(values == {"n": 5, "s": SECRET}, f"version 5: {values!r}")
    opened = api.open_environment(ORG, PROJECT, ENV, duration="1h30m")
    value, resolved = client.read_open_environment_property(ORG, PROJECT, ENV, opened.id, "s")
    check(resolved == SECRET and value.secret is True, f"secret property: {value!r}")
    expect_error(404, client.read_open_environment_property, ORG, PROJECT, ENV, opened.id, "nope")

    # property paths with indexes and quoted keys, through the SDK's `open//` path
    client.create_environment(ORG, PROJECT, "paths")
    client.update_environment_yaml(
        ORG, PROJECT, "paths", 'values:\n  l: [1, {x: "y.z"}]\n  "c.d": 5\n')
    paths = client.open_environment(ORG, PROJECT, "paths")
    for path, want in [("l[1].x", "y.z"), ('["c.d"]', 5), ("l[0]", 1), ("l", [1, {"x": "y.z"}])]:
        _, resolved = client.read_open_environment_property(ORG, PROJECT, "paths", paths.id, path)
        check(resolved == want, f"property {path}: {resolved!r}")
    expect_error(400, client.read_open_environment_property, ORG, PROJECT, "paths", paths.id, "l[")
    expect_error(404, client.read_open_environment_property, ORG, PROJECT, "paths", paths.id, "l[7]")
    # a session belongs to its environment
    expect_error(404, client.read_open_environment, ORG, PROJECT, ENV, paths.id)
    expect_error(404, client.read_open_environment, ORG, PROJECT, ENV, "no-such-session")
    expect_error(404, client.open_environment_at_version, ORG, PROJECT, ENV, "99")
    expect_error(400, api.open_environment, ORG, PROJECT, ENV, "soon")

    # revision tags: paging with after/count ends on an empty page
    for name, revision in [("alpha", 2), ("beta", 3), ("gamma", 4)]:
        client.create_environment_revision_tag(ORG, PROJECT, ENV, name, revision)
    expect_error(409, client.create_environment_revision_tag, ORG, PROJECT, ENV, "beta", 5)
    names, after = [], None
    for _ in range(10):
        page = client.list_environment_revision_tags(ORG, PROJECT, ENV, after=after, count=2)
        if not page.tags:
            break
        names += [t.name for t in page.tags]
        after = page.tags[-1].name
    check(names == ["alpha", "beta", "gamma", "latest"], f"revision tag pages: {names}")
    _, values, _ = client.open_and_read_environment_at_version(ORG, PROJECT, ENV, "gamma")
    check(values["n"] == 4, f"at gamma: {values!r}")
    got, _ = client.get_environment_at_version(ORG, PROJECT, ENV, "latest")
    check(got.values.additional_properties["n"] == 8, f"at latest: {got!r}")
    expect_error(404, client.get_environment_revision_tag, ORG, PROJECT, ENV, "delta")
    expect_error(404, client.update_environment_revision_tag, ORG, PROJECT, ENV, "delta", 2)
    expect_error(404, client.delete_environment_revision_tag, ORG, PROJECT, ENV, "delta")
    expect_error(400, client.delete_environment_revision_tag, ORG, PROJECT, ENV, "latest")

    # environment tags: paging with after/count until nextToken "0"
    for number in range(5):
        client.create_environment_tag(ORG, PROJECT, ENV, f"key{number}", f"value{number}")
    expect_error(409, client.create_environment_tag, ORG, PROJECT, ENV, "key0", "again")
    seen, after = {}, None
    for _ in range(10):
        page = client.list_environment_tags(ORG, PROJECT, ENV, after=after, count=2)
        seen.update({name: tag.value for name, tag in page.tags.items()})
        if page.next_token == "0":
            break
        after = page.next_token
    check(seen == {f"key{n}": f"value{n}" for n in range(5)}, f"environment tag pages: {seen}")
    expect_error(404, client.get_environment_tag, ORG, PROJECT, ENV, "nope")
    expect_error(404, client.delete_environment_tag, ORG, PROJECT, ENV, "nope")
    expect_error(409, client.update_environment_tag, ORG, PROJECT, ENV, "key1",
                 "not-the-value", "key1", "new")
    kept = client.get_environment_tag(ORG, PROJECT, ENV, "key1")
    check(kept.value == "value1", f"stale tag update changed it: {kept!r}")

    # clone with every option: history, revision tags and environment tags
    client.clone_environment(ORG, PROJECT, ENV, "clone-project", "full", {
        "preserve_history": True, "preserve_access": True,
        "preserve_environment_tags": True, "preserve_revision_tags": True,
    })
    revisions = client.list_environment_revisions(ORG, "clone-project", "full")
    check([r.number for r in revisions] == list(range(8, 0, -1)), f"cloned history: {revisions!r}")
    tags = client.list_environment_revision_tags(ORG, "clone-project", "full")
    check([(t.name, t.revision) for t in tags.tags]
          == [("alpha", 2), ("beta", 3), ("gamma", 4), ("latest", 8)], f"cloned tags: {tags!r}")
    env_tags = client.list_environment_tags(ORG, "clone-project", "full", count=100)
    check(sorted(env_tags.tags) == [f"key{n}" for n in range(5)], f"cloned env tags: {env_tags!r}")
    _, values, _ = client.open_and_read_environment(ORG, "clone-project", "full")
    check(values == {"n": 8, "s": SECRET}, f"cloned values: {values!r}")
    # without options: one revision, no tags
    client.clone_environment(ORG, PROJECT, ENV, "clone-project", "bare")
    check(len(client.list_environment_revisions(ORG, "clone-project", "bare")) == 1, "bare clone")
    check(client.list_environment_tags(ORG, "clone-project", "bare").tags == {}, "bare clone tags")
    expect_error(409, client.clone_environment, ORG, PROJECT, ENV, "clone-project", "bare")
    expect_error(404, client.clone_environment, ORG, PROJECT, "nope", "clone-project", "x")

    # errors the SDK parses into its Error model
    error = expect_error(404, client.get_environment, ORG, PROJECT, "nope")
    check(error.data is not None and error.data.code == 404 and "nope" in error.data.message,
          f"404 model: {error.data!r}")
    expect_error(409, client.create_environment, ORG, PROJECT, ENV)
    expect_error(404, client.delete_environment, ORG, PROJECT, "nope")
    expect_error(404, client.list_environment_revisions, ORG, PROJECT, "nope")
    expect_error(404, client.list_environments, "no-such-org")

    client.delete_environment(ORG, PROJECT, ENV)
    # HEAD answers 404 with no body
    try:
        api.get_environment_e_tag(ORG, PROJECT, ENV)
    except esc.ApiException as error:
        check(error.status == 404 and not error.body, f"HEAD after delete: {error.status}")
    else:
        raise AssertionError("HEAD found a deleted environment")
    print("sdk more passed")


if __name__ == "__main__":
    main()
