"""Settings: the service's own prefix wins over the shared TSUNAGU_ one, then defaults."""

import pytest
from pydantic import ValidationError

from kit.settings import load_settings


def test_prefix_then_shared_then_default() -> None:
    env = {"REFERRAL_KAFKA_BOOTSTRAP": "own:9092", "TSUNAGU_KAFKA_BOOTSTRAP": "shared:9092",
           "TSUNAGU_MUNICIPALITY_CODE": "132012", "INTAKE_LOG_LEVEL": "DEBUG"}
    s = load_settings("referral", env)
    assert s.kafka_bootstrap == "own:9092"
    assert s.municipality_code == "132012"
    assert s.log_level == "INFO"  # another service's setting does not leak in
    assert s.database_url.endswith("/tsunagu_referral")


def test_bad_municipality_code_is_refused() -> None:
    with pytest.raises(ValidationError):
        load_settings("intake", {"TSUNAGU_MUNICIPALITY_CODE": "Fussa"})
