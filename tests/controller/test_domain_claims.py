"""Which domains a tenant may claim: nothing that covers the platform domain or a public suffix, and under the
platform domain only its own app's name. Refusals are Deis-style 400 {"domain": ["..."]}."""
from __future__ import annotations

import pytest

PLATFORM = "slipway.test"  # tests/live.py's SLIPWAY_PLATFORM_DOMAIN


def claim(api, app_id: str, domain: str):
    return api.post(f"/v2/apps/{app_id}/domains/", {"domain": domain})


@pytest.mark.parametrize("domain", ["*.com", "*.co.uk", "*.uk", "*.github.io", "co.uk", f"*.{PLATFORM}", "*.test",
                                    PLATFORM])
def test_wildcards_over_public_suffixes_or_the_platform_are_refused(owner, app_id, domain):
    r = claim(owner, app_id, domain)
    assert r.status_code == 400 and r.json()["domain"][0], r.text


def test_names_under_the_platform_domain_belong_to_their_app(owner, app_id, new_user, admin):
    other = new_user()
    other_app = other.post("/v2/apps/", {}).json()["id"]
    for stolen in (f"{other_app}.{PLATFORM}", f"www.{other_app}.{PLATFORM}", f"*.{other_app}.{PLATFORM}",
                   f"not-created-yet.{PLATFORM}", f"controller.{PLATFORM}"):
        r = claim(owner, app_id, stolen)
        assert r.status_code == 400 and "domain" in r.json(), f"{stolen}: {r.text}"
        assert claim(admin, app_id, stolen).status_code == 400  # not even an admin, for another app
    for own in (f"www.{app_id}.{PLATFORM}", f"*.{app_id}.{PLATFORM}"):
        assert claim(owner, app_id, own).status_code == 201, own
    assert claim(owner, app_id, f"*.{app_id}.example.com").status_code == 201
    assert claim(owner, app_id, f"{app_id}.co.uk").status_code == 201  # a name under a suffix is fine


def test_without_the_public_suffix_list_a_wildcard_needs_two_labels_after_the_star():
    from controller_app.services import domainrules

    rules = domainrules.SuffixRules.parse("")  # nothing known: the fallback rule
    assert domainrules.claim_problem("*.com", "shop", "example.net", rules)
    assert domainrules.claim_problem("*.co.uk", "shop", "example.net", rules) is None
    assert domainrules.claim_problem("*.shop.example.com", "shop", "example.net", rules) is None
    listed = domainrules.SuffixRules.parse("// comment\ncom\n*.ck\n!www.ck\nco.uk\n")
    assert domainrules.claim_problem("*.co.uk", "shop", "example.net", listed)
    assert domainrules.claim_problem("*.any.ck", "shop", "example.net", listed)
    assert domainrules.claim_problem("*.www.ck", "shop", "example.net", listed) is None
