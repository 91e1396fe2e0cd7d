"""Records: deterministic content ids and lossless protobuf round trips."""

from lbi.records import Example, Instruction, Origin, Outcome, Resource, Step, Trajectory, Verdict, point_uuid


def _trajectory() -> Trajectory:
    steps = (Step("o0", "a1", "why"), Step("o1", "a2", error=True))
    return Trajectory("ins", "sql", steps, "o2", Outcome.STOPPED, "answer")


def test_ids_depend_on_content_only():
    assert Resource("sql", "T", "text").id == Resource("sql", "T", "text", uri="other").id
    assert Resource("sql", "T", "text").id != Resource("sql", "T", "text2").id
    assert Instruction("r", "do x").id == Instruction("r", "do x").id
    assert len(Instruction("r", "do x").id) == 32
    assert _trajectory().id == _trajectory().id


def test_example_id_ignores_verdicts():
    base = Example("do x", "sql", _trajectory().steps, "o2", Origin.BACKWARD_TASK, "t", 0, 2)
    judged = Example(
        "do x",
        "sql",
        _trajectory().steps,
        "o2",
        Origin.BACKWARD_TASK,
        "t",
        0,
        2,
        verdicts=(Verdict("m", (("aligned", True, "ok"),)),),
        kept=True,
    )
    assert base.id == judged.id
    assert base.id != Example("do y", "sql", _trajectory().steps, "o2", Origin.BACKWARD_TASK, "t", 0, 2).id


def test_proto_round_trips():
    trajectory = _trajectory()
    assert Trajectory.from_proto(trajectory.to_proto()) == trajectory
    assert trajectory.to_proto().id == trajectory.id
    example = Example(
        "do x",
        "sql",
        trajectory.steps,
        "o2",
        Origin.BACKWARD_SUMMARY,
        trajectory.id,
        0,
        2,
        verdicts=(Verdict("m", (("aligned", True, "ok"), ("natural", False, "odd"))),),
        kept=False,
        metadata={"job": "j1"},
    )
    back = Example.from_proto(example.to_proto())
    assert back == example and back.metadata == {"job": "j1"}
    assert not back.verdicts[0].accepted
    resource = Resource("sql", "T", "text", "uri")
    assert Resource.from_proto(resource.to_proto()) == resource


def test_point_uuid_is_stable_and_valid():
    rid = Instruction("r", "x").id
    assert point_uuid(rid) == point_uuid(rid)
    assert len(point_uuid("any string")) == 36
