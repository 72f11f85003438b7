from testkit.daemon import Daemon


def test_courier_deposit_then_customer_pickup_frees_the_compartment(daemon: Daemon) -> None:
    courier = daemon.signed_in()
    view = courier.post("/v1/deposits", {"barcode": "1Z999AA10123456784", "size": "M",
                                         "phone": "+4915112345678"})  # fmt: skip
    assert (
        view["message"]
        == f"Door {view['compartment']} is open: put the parcel in and close the door."
    )
    done = courier.wait_operation(view["operation"], until_done=True)
    assert done["message"] == f"Stored in {view['compartment']}; the recipient has been notified."
    code = daemon.code_for("1Z999AA10123456784")
    customer = daemon.client()
    pickup = customer.post("/v1/pickup", {"code": code})
    assert pickup["compartment"] == view["compartment"]
    final = customer.wait_operation(pickup["operation"], until_done=True)
    assert final["message"] == "Thank you!"
    comps = {c["id"]: c for c in customer.get("/v1/compartments")["compartments"]}
    assert comps[view["compartment"]]["state"] == "AVAILABLE"
