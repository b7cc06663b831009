"""The shipped watchlist: it validates, and decides sensibly on items written for this test.

The items are invented headlines and leads in the style of the news the topics watch; each
names what makes it relevant or a hard negative for the topic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.configio import read_yaml
from monitor.score.engine import Matcher, compile_topics
from monitor.score.spec import validate_watchlist

WATCHLIST = Path(__file__).resolve().parents[1] / "config" / "watchlists" / "us-canada.yaml"
TOPICS = ("norad", "five_eyes", "tariffs", "defence_spending", "arctic_security", "border_security")


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    doc, problems = read_yaml(WATCHLIST)
    assert doc is not None, problems
    topics, problems = validate_watchlist(doc)
    assert problems == []
    return compile_topics(topics)


def test_the_six_topics_are_defined_with_seeds(matcher: Matcher) -> None:
    assert matcher.topic_ids == TOPICS
    for topic in matcher.topics:
        assert topic.seed in ("seeds/000_74cf184e59c9d2f1.txt", "seeds/002_0e05f36e2af0e6b6.txt")
        assert set(topic.lang) == {"en", "fr"}
        assert topic.description


# (topic, language, title, summary, should match)
ITEMS = [
    (
        "norad",
        "en",
        "Ottawa weighs cost of new over-the-horizon radar",
        "The radar is part of the plan to modernize NORAD, the binational command.",
        True,
    ),
    (
        "norad",
        "en",
        "White House floats review of Norad amid trade spat",
        "Officials said the future of the command with Canada is on the table.",
        True,
    ),
    (
        "norad",
        "fr",
        "Le NORAD sera modernisé, confirme la ministre",
        "Le Canada investira des milliards dans la défense continentale.",
        True,
    ),
    (
        "norad",
        "en",
        "Kids can follow Santa on Christmas Eve with NORAD",
        "The annual tracker answers thousands of calls.",
        False,
    ),
    (
        "norad",
        "en",
        "Wildfire early warning system launched in British Columbia",
        "The province will alert residents by text message.",
        False,
    ),
    (
        "five_eyes",
        "en",
        "Washington weighs limiting intelligence sharing with Ottawa",
        "Officials discussed cutting Canada off from some intelligence-sharing channels.",
        True,
    ),
    (
        "five_eyes",
        "fr",
        "Le Canada et le Groupe des cinq",
        "Le partage de renseignements entre alliés est remis en question.",
        True,
    ),
    ("five_eyes", "en", "Hospital opens new eye clinic", "Five eye doctors join the staff.", False),
    (
        "tariffs",
        "en",
        "Canada answers US steel tariffs with counter-tariffs",
        "Ottawa will impose duties on American goods worth billions.",
        True,
    ),
    (
        "tariffs",
        "fr",
        "Ottawa réplique aux droits de douane américains",
        "Le Canada imposera des contre-mesures sur l'acier des États-Unis.",
        True,
    ),
    (
        "tariffs",
        "en",
        "CUSMA review opens in Washington",
        "Canadian negotiators arrive for the joint review of the trade pact.",
        True,
    ),
    (
        "tariffs",
        "en",
        "US raises tariffs on Chinese electric vehicles",
        "Beijing vowed to retaliate against Washington.",
        False,
    ),
    ("tariffs", "en", "Water tariffs to rise in Nairobi", "The utility blamed costs.", False),
    (
        "defence_spending",
        "en",
        "Canada to reach NATO's 2 per cent of GDP target",
        "The defence minister said the military budget will grow.",
        True,
    ),
    (
        "defence_spending",
        "fr",
        "Le budget de la Défense augmente",
        "Le Canada veut atteindre la cible de l'OTAN de 2 % du PIB.",
        True,
    ),
    (
        "defence_spending",
        "en",
        "Ottawa shortlists bidders for new submarine fleet",
        "The Royal Canadian Navy procurement could cost billions.",
        True,
    ),
    (
        "defence_spending",
        "en",
        "Japan approves record military budget",
        "Tokyo will buy long-range missiles.",
        False,
    ),
    (
        "defence_spending",
        "en",
        "Canada's deficit to reach 2 per cent of GDP",
        "The finance minister blamed slower growth.",
        False,
    ),
    (
        "defence_spending",
        "en",
        "Oilers add veteran defenceman",
        "Edmonton spent $3 million on the defence.",
        False,
    ),
    (
        "arctic_security",
        "en",
        "Russian bombers probe Arctic approaches",
        "Canadian and American jets were scrambled near Alaska.",
        True,
    ),
    (
        "arctic_security",
        "fr",
        "Le Canada renforce sa présence militaire dans l'Arctique",
        "Ottawa veut affirmer sa souveraineté face à la Russie.",
        True,
    ),
    ("arctic_security", "en", "Ships test Canada's claim over the Northwest Passage", "", True),
    (
        "arctic_security",
        "en",
        "Polar bears face threat as Arctic sea ice thins",
        "Scientists in Canada warned about food security for the bears.",
        False,
    ),
    (
        "border_security",
        "en",
        "Mounties step up patrols at the Canada-U.S. border",
        "The RCMP will use drones to stop fentanyl smuggling.",
        True,
    ),
    (
        "border_security",
        "fr",
        "Des migrants traversent illégalement la frontière",
        "La GRC a intercepté des demandeurs d'asile près de Lacolle.",
        True,
    ),
    (
        "border_security",
        "en",
        "Record migrant arrests on the southern border",
        "Texas officials blamed smugglers from Mexico.",
        False,
    ),
    (
        "border_security",
        "en",
        "Fewer Canadians cross the border to shop",
        "Trips to the US fell by a third amid the trade war.",
        False,
    ),
]


# Concepts in French, named as French news names them, with elisions and inflections
FRENCH = [
    (
        "norad",
        "Le Dôme doré de Washington : Ottawa étudie sa participation",
        "Le Canada pourrait se joindre au bouclier antimissile américain.",
    ),
    (
        "norad",
        "Le Système d'alerte du Nord sera remplacé",
        "Le MDN prévoit des radars trans-horizon pour la défense continentale.",
    ),
    (
        "five_eyes",
        "Le SCRS défend l'échange de renseignements avec les alliés",
        "Le Canada tient à sa place au sein du Groupe des cinq.",
    ),
    (
        "tariffs",
        "Bois d'œuvre : Washington double les droits compensateurs",
        "Les producteurs canadiens dénoncent cette nouvelle mesure tarifaire.",
    ),
    (
        "tariffs",
        "Les tarifs de Trump frappent l'acier canadien",
        "Ottawa prépare une riposte aux mesures américaines.",
    ),
    (
        "tariffs",
        "Révision d'ACEUM : Ottawa se prépare",
        "Le Canada et les États-Unis entament des négociations commerciales.",
    ),
    (
        "defence_spending",
        "Les FAC commandent de nouveaux brise-glaces",
        "Ottawa consacrera des milliards à la Défense nationale pour atteindre 2 % du PIB.",
    ),
    (
        "arctic_security",
        "Souveraineté dans l'Arctique : le passage du Nord-Ouest sous surveillance",
        "Des sous-marins russes ont été repérés près des eaux canadiennes.",
    ),
    (
        "border_security",
        "La GRC et l'ASFC renforcent la surveillance à la frontière",
        "Les passages irréguliers vers le Québec inquiètent les autorités.",
    ),
]


@pytest.mark.parametrize(("topic", "title", "summary"), FRENCH)
def test_french_concepts(matcher: Matcher, topic: str, title: str, summary: str) -> None:
    matched = {m.topic for m in matcher.score(title, summary, "fr")}
    verdict = next(v for v in matcher.explain(title, summary, "fr") if v.topic == topic)
    assert topic in matched, (verdict.decision, verdict.detail, verdict.reasons)


# Concepts a story can be told through without the topic's headline words: the command's
# headquarters, import taxes, rearmament and the defence investment agency, Arctic places with
# bases, and US agencies at the northern border
CONCEPTS = [
    (
        "norad",
        "en",
        "Cheyenne Mountain upgrade on the table as Ottawa weighs its share",
        "Canada and the United States are discussing who pays to modernize the complex.",
    ),
    (
        "tariffs",
        "en",
        "Washington weighs new import taxes on Canadian goods",
        "Ottawa said it would answer any import tax with measures of its own.",
    ),
    (
        "tariffs",
        "fr",
        "Ottawa répliquera aux taxes à l'importation américaines",
        "Le Canada prépare une liste de produits des États-Unis visés.",
    ),
    (
        "defence_spending",
        "en",
        "Canada's rearmament plan leans on a new Defence Investment Agency",
        "The agency will run military procurement for the Canadian Armed Forces.",
    ),
    (
        "defence_spending",
        "fr",
        "Le réarmement du Canada passe par une nouvelle agence",
        "Ottawa veut accélérer les achats militaires des Forces armées canadiennes.",
    ),
    (
        "arctic_security",
        "en",
        "US bombers land at Pituffik as Russia probes the region",
        "The American base in Greenland is key to North American missile warning.",
    ),
    (
        "arctic_security",
        "en",
        "Canadian troops deploy to Yellowknife for a northern exercise",
        "The military says the drills prepare for threats to Canada's sovereignty.",
    ),
    (
        "border_security",
        "en",
        "Homeland Security adds agents along the northern border",
        "Officials in Vermont said drug smuggling from Canada is the concern.",
    ),
    (
        "border_security",
        "en",
        "ICE detains migrants who crossed from Quebec",
        "The border arrests near Champlain follow a rise in illegal crossings.",
    ),
]


@pytest.mark.parametrize(("topic", "lang", "title", "summary"), CONCEPTS)
def test_concepts_without_the_headline_words(
    matcher: Matcher, topic: str, lang: str, title: str, summary: str
) -> None:
    matched = {m.topic for m in matcher.score(title, summary, lang)}
    verdict = next(v for v in matcher.explain(title, summary, lang) if v.topic == topic)
    assert topic in matched, (verdict.decision, verdict.detail, verdict.reasons)


# Hard negatives: the topic's words in stories that are not the topic's
HARD_NEGATIVES = [
    (
        "arctic_security",
        "Arctic sea ice hits record low, scientists say",
        "Researchers in Canada and Russia tracked the melt of the permafrost this summer.",
    ),
    (
        "arctic_security",
        "Cruising the Northwest Passage: a polar adventure",
        "Passengers aboard the Canadian expedition ship watched polar bears near Nunavut.",
    ),
    (
        "defence_spending",
        "Germany lifts its defence budget to 3.5 per cent of GDP",
        "Berlin will buy new frigates; allies such as France, Canada and Japan are watching.",
    ),
    (
        "tariffs",
        "U.S. raises tariffs on Chinese electric vehicles",
        "The measure follows talks with allies including the U.K., Canada and Australia.",
    ),
    (
        "tariffs",
        "Hydro-Québec hausse ses tarifs d'électricité",
        "Les clients du Québec paieront 3 % de plus; Ottawa n'intervient pas.",
    ),
    (
        "defence_spending",
        "Oilers defenceman signs contract extension in Edmonton",
        "The defence corps will cost the team $9 million a year.",
    ),
    (
        "defence_spending",
        "Defence lawyer seeks new trial in Toronto murder case",
        "The defence said the Crown failed to disclose evidence.",
    ),
    (
        "border_security",
        "Border Patrol arrests at U.S.-Mexico border climb.",
        "Officials reported more crossings in Texas. Canada has seen fewer.",
    ),
    (
        "border_security",
        "Homeland Security sends more agents to the Texas border",
        "ICE says arrests of migrants rose near El Paso; Mexico promised help.",
    ),
    (
        "defence_spending",
        "Germany's rearmament: Berlin doubles its defence budget",
        "German officials said Canada and others were told of the plan.",
    ),
    (
        "norad",
        "NORAD Tracks Santa takes calls from children across Canada",
        "Volunteers answer questions about the sleigh on Christmas Eve.",
    ),
]


@pytest.mark.parametrize(("topic", "title", "summary"), HARD_NEGATIVES)
def test_hard_negatives(matcher: Matcher, topic: str, title: str, summary: str) -> None:
    found = {m.topic: m for m in matcher.score(title, summary, "en")}
    assert topic not in found, found[topic].reasons if topic in found else None


@pytest.mark.parametrize(("topic", "lang", "title", "summary", "expected"), ITEMS)
def test_handwritten_items(
    matcher: Matcher, topic: str, lang: str, title: str, summary: str, expected: bool
) -> None:
    matched = {m.topic for m in matcher.score(title, summary, lang)}
    verdict = next(v for v in matcher.explain(title, summary, lang) if v.topic == topic)
    assert (topic in matched) is expected, (verdict.decision, verdict.detail, verdict.reasons)


# (topic, language, title, summary, severity): escalations alert, routine news goes to the digest
SEVERITIES = [
    (
        "norad",
        "en",
        "Ottawa recalls ambassador as U.S. threatens to suspend NORAD intelligence feeds",
        "Officials in Washington said cooperation with Canada was under review.",
        "alert",
    ),
    (
        "norad",
        "en",
        "NORAD modernization: Ottawa signs radar contract worth billions",
        "The over-the-horizon radar will cover the Arctic approaches to Canada.",
        "digest",
    ),
    (
        "border_security",
        "en",
        "RCMP deploys drones and helicopters along the Canada–U.S. border",
        "The Mounties said the new patrols target fentanyl smuggling and illegal crossings.",
        "digest",
    ),
    (
        "five_eyes",
        "fr",
        "Washington menace d'expulser le Canada du Groupe des cinq",
        "Ottawa dénonce une menace contre le partage du renseignement.",
        "alert",
    ),
    (
        "tariffs",
        "fr",
        "Ottawa riposte aux droits de douane américains",
        "Le Canada impose des contre-mesures sur l'acier des États-Unis.",
        "alert",
    ),
    (
        "tariffs",
        "en",
        "Canadian steel exporters brace for tariffs",
        "Producers in Ontario expect orders from the U.S. to slow.",
        "digest",
    ),
]


@pytest.mark.parametrize(("topic", "lang", "title", "summary", "severity"), SEVERITIES)
def test_escalations_alert_and_routine_news_does_not(
    matcher: Matcher, topic: str, lang: str, title: str, summary: str, severity: str
) -> None:
    found = {m.topic: m for m in matcher.score(title, summary, lang)}
    assert topic in found
    assert found[topic].severity == severity, found[topic].reasons
    if severity == "alert":
        assert any(r.rule.startswith("alert_when") for r in found[topic].reasons)
