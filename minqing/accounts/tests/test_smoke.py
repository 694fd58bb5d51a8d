def test_home_shows_role_and_community(client_as):
    response = client_as("admin1").get("/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "社区书记/主任" in text and "嘉和社区" in text
