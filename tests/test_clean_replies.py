"""Realistic, well-written replies in each seed language: detected right, nothing flagged."""

from __future__ import annotations

import pytest

from coach import check

CLEAN = [
    ("en", "Hi Sam, I'm sorry your order is late. I've checked with the courier and it arrives tomorrow. Is there anything else I can help with?"),
    ("en", "I understand how frustrating this is. I've passed your case to our billing team and I'll update you by 5 pm today."),
    ("tr", "Merhaba Ayşe Hanım, yaşadığınız gecikme için çok özür dilerim. Siparişinizi kontrol ettim; kargo firması yarın teslim edeceğini bildirdi. Başka bir konuda yardımcı olabilir miyim?"),
    ("tr", "Bu durumun sizi ne kadar üzdüğünü anlıyorum. Sorunu birlikte çözelim: cihazın seri numarasını paylaşabilir misiniz?"),
    ("ro", "Bună ziua, îmi pare rău pentru întârzierea comenzii. Am verificat și coletul pleacă mâine dimineață. Vă mai pot ajuta cu ceva?"),
    ("ro", "Deci, doar ca să confirm: reinstalăm aplicația și verificăm împreună dacă funcționează, corect?"),
    ("fi", "Hei Matti, olen todella pahoillani viivästyksestä. Tarkistin tilauksenne, ja paketti lähtee huomenna. Voinko auttaa vielä jossain?"),
    ("fi", "Ymmärrän, että tämä on turhauttavaa. Välitin asian laskutukseen ja palaan teille tänään kello 16 mennessä."),
    ("ms", "Salam Encik Ali, saya mohon maaf atas kelewatan penghantaran. Saya sudah semak dan bungkusan akan sampai esok. Ada apa-apa lagi yang boleh saya bantu?"),
    ("ms", "Saya faham betapa kecewanya anda. Saya telah majukan kes ini kepada pasukan teknikal dan akan maklumkan perkembangan petang ini."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("language", "text"), CLEAN, ids=[f"{lang}-{i}" for i, (lang, _) in enumerate(CLEAN)]
)
def test_clean_reply_passes_with_detected_language(language: str, text: str) -> None:
    result = check(text)
    assert result.language == language, result.notes
    assert result.violations == [], [(v.rule, v.text) for v in result.violations]
