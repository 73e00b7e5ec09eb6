from tests.test_tags_admin import _tag, _folder
from tests.console_helpers import signed_in_client
def test_smoke(app):
    f=_folder(app,"来店"); _tag(app,"初来店",friends=2,folder_id=f); _tag(app,"VIP",friends=1)
    c=signed_in_client(app,"admin")
    print(c.get("/tags").get_data(as_text=True).split("<main")[1])
    print(c.get("/tags/1/delete").get_data(as_text=True).split("<main")[1])
