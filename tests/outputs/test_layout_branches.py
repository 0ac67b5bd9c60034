"""The drawing's branches, read column-wise from the tables: every line, transformer (a
three-winding one as two) and bus-bus switch, with its state in the network's normal setting."""

from __future__ import annotations

import pandapower as pp

from planner.outputs.layout import Branch, branches


def _net() -> pp.pandapowerNet:
    net = pp.create_empty_network()
    b = [pp.create_bus(net, vn_kv=v) for v in (110.0, 20.0, 20.0, 20.0, 20.0, 10.0, 0.4)]
    pp.create_ext_grid(net, b[0])
    line = "NA2XS2Y 1x240 RM/25 12/20 kV"
    pp.create_line(net, b[1], b[2], 1.0, line)  # 0: closed
    pp.create_line(net, b[2], b[3], 1.0, line)  # 1: an open switch at one end
    pp.create_line(net, b[3], b[4], 1.0, line, in_service=False)  # 2: out of service
    pp.create_line(net, b[4], b[4], 1.0, line)  # 3: a loop on one bus, not drawn
    pp.create_transformer(net, b[0], b[1], "25 MVA 110/20 kV")  # 0
    pp.create_transformer(net, b[0], b[1], "25 MVA 110/20 kV", in_service=False)  # 1
    pp.create_transformer3w(net, b[0], b[2], b[5], "63/25/38 MVA 110/20/10 kV")  # 0
    pp.create_switch(net, b[2], 1, et="l", closed=True)  # 0: at line 1, closed
    pp.create_switch(net, b[3], 1, et="l", closed=False)  # 1: at line 1, open
    pp.create_switch(net, b[3], b[4], et="b", closed=False)  # 2: a bus-bus tie, open
    pp.create_switch(net, b[4], b[6], et="b", closed=True)  # 3: bus-bus, closed
    pp.create_switch(net, b[1], 0, et="t", closed=False)  # 4: at a transformer: no branch
    pp.create_switch(net, b[5], b[6], et="b", closed=True)  # 5: made to point nowhere below
    net.switch.at[5, "element"] = 99  # a bus that is not there: not drawn
    return net


def test_branches_name_every_drawable_connection_with_its_normal_state() -> None:
    assert branches(_net()) == [
        Branch("line", 0, 1, 2, True),
        Branch("line", 1, 2, 3, False),
        Branch("line", 2, 3, 4, False),
        Branch("trafo", 0, 0, 1, True),
        Branch("trafo", 1, 0, 1, False),
        Branch("trafo3w", 0, 0, 2, True),
        Branch("trafo3w", 0, 0, 5, True),
        Branch("switch", 2, 3, 4, False),
        Branch("switch", 3, 4, 6, True),
    ]


def test_branch_fields_are_plain_python_values() -> None:
    for branch in branches(_net()):
        assert type(branch.index) is int and type(branch.a) is int and type(branch.b) is int
        assert type(branch.closed) is bool
