"""Demo data 演示数据 for ``lantai demo``: a fictitious district archive (兰台区档案馆).

``generator.load_demo`` is the entry point; ``data`` holds the units and word lists,
``texts`` writes titles and category-specific fields.
"""
