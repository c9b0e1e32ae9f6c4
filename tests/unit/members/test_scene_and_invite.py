import pytest

from backend.members.errors import InvalidScene
from backend.members.invite import ALPHABET, LENGTH, new_invite_code, normalise_invite_code
from backend.members.scene import Scene, parse_scene
from backend.money import apply_rate, parse_yuan, percent, rate_text, yuan


def test_scene_round_trips_through_its_compact_string():
    scene = Scene(invite_code="ABC234", product_id=981)
    assert scene.encode() == "i=ABC234&p=981"
    assert parse_scene(scene.encode()) == scene


def test_official_account_prefix_is_stripped_and_codes_upper_cased():
    assert parse_scene("qrscene_i=abc234").invite_code == "ABC234"


@pytest.mark.parametrize("text", ["", "x=1", "i=", "p=12", "i=AB&i=CD", "s=abc", "i", "s=1" * 40])
def test_malformed_scenes_are_refused(text):
    with pytest.raises(InvalidScene):
        parse_scene(text)


def test_a_scene_longer_than_wechat_allows_cannot_be_encoded():
    with pytest.raises(InvalidScene):
        Scene(invite_code="ABC234", product_id=10**12, live_room_id=10**12).encode()


def test_invite_codes_use_only_unambiguous_characters():
    for _ in range(200):
        code = new_invite_code()
        assert len(code) == LENGTH and set(code) <= set(ALPHABET)
    assert not set("01OIL") & set(ALPHABET)


def test_invite_codes_are_case_insensitive_and_reject_lookalikes():
    assert normalise_invite_code(" abc234 ") == "ABC234"
    assert normalise_invite_code("ABC10O") is None
    assert normalise_invite_code("ABC") is None


def test_apply_rate_rounds_down_to_the_fen():
    assert apply_rate(10000, percent(30)) == 3000
    assert apply_rate(333, percent("10")) == 33  # 33.3 → 33
    assert apply_rate(999, percent("7.5")) == 74  # 74.925 → 74
    assert apply_rate(0, percent(30)) == 0


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        apply_rate(10.0, percent(30))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        percent(0.3)  # type: ignore[arg-type]


def test_yuan_formatting_and_parsing():
    assert yuan(3000) == "30.00" and yuan(-5) == "-0.05"
    assert rate_text(percent("7.5")) == "7.5%"
    assert parse_yuan("12.5") == 1250
    with pytest.raises(ValueError):
        parse_yuan("1.234")
