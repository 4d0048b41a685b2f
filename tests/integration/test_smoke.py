def test_an_email_request_is_sent(client, trace_id):
    execution = client.send(
        {
            "TraceId": trace_id,
            "EmailMessage": {
                "FromAddress": "alerts@example.com",
                "Subject": "Low Balance Alert",
                "Substitutions": {
                    "productName": "CHEQUING",
                    "membershipNumber": "****5493",
                    "accountBalance": "100.00",
                },
            },
            "Addresses": {"user@example.com": {"ChannelType": "EMAIL"}},
        }
    )
    print(execution.status, execution.states_entered())
    for e in execution.history:
        if "Failed" in e["type"]:
            print(e)
    assert execution.status == "SUCCEEDED"
    assert [m.to for m in execution.sent] == ["user@example.com"]
