"""DynamoTable: a low-level client spoken to in Python values, and its reads of every page."""

from __future__ import annotations

from notify.integration.dynamodb_table import DynamoTable


def test_query_all_and_scan_all_read_every_page_in_python_values(mocked_aws, table_from_template):
    table_from_template("TenantTemplatesTable", "paged")
    table = DynamoTable(mocked_aws.client("dynamodb"), "paged")
    for n in range(7):
        table.put_item(Item={"Owner": "t", "Sk": f"V#n#{n:06d}", "Version": n})
    table.put_item(Item={"Owner": "other", "Sk": "V#n#000001", "Version": 1})

    queried = table.query_all(
        KeyConditionExpression="#owner = :owner",
        ExpressionAttributeNames={"#owner": "Owner"},
        ExpressionAttributeValues={":owner": "t"},
        Limit=3,  # three pages, and a last empty one
    )
    scanned = table.scan_all(Limit=2)

    assert [item["Version"] for item in queried] == list(range(7))
    assert sorted((i["Owner"], i["Version"]) for i in scanned) == sorted(
        [("t", n) for n in range(7)] + [("other", 1)]
    )
