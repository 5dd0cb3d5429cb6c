"""The public tabular benchmarks: ADBench "Classical" (``adbench/<name>``, 47 sets) and
ODDS (``odds/<name>``, MATLAB files as hosted in PyOD's repository).

Files are found through :mod:`anobench.data.io` (mirror folders ``adbench/`` and
``odds/``, original file names). Checksums are those of the published files; four ADBench
sets (backdoor, census, fraud, speech) have no known checksum and are "unpinned" (the
sha256 of what was read is still recorded with each result). A file missing from the
mirror is read the moment it is put into ``<data dir>/adbench/`` (or downloaded).

ADBench resamples some small sets before publishing, so their files repeat rows; a clean
split keeps every row and keeps identical rows on one side (see
:func:`anobench.data.splits.make_split`), so the data set keeps its published size and ratio.
"""

from __future__ import annotations

import functools
import zipfile

import numpy as np

from anobench.data.io import DataFileError, RemoteFile, locate
from anobench.data.spec import Catalog, Data, DatasetSpec, identifier

__all__ = [
    "ADBENCH",
    "ADBENCH_CITATION",
    "ADBENCH_URL",
    "ODDS",
    "ODDS_CITATION",
    "ODDS_URL",
    "read_mat",
    "read_npz",
]

ADBENCH_URL = "https://github.com/Minqi824/ADBench/raw/main/adbench/datasets/Classical/"
ODDS_URL = "https://raw.githubusercontent.com/yzhao062/pyod/master/notebooks/data/"

ADBENCH_CITATION = (
    "Han, Hu, Huang, Jiang, Zhao (2022). ADBench: Anomaly Detection Benchmark. NeurIPS "
    "Datasets and Benchmarks."
)
ODDS_CITATION = "Rayana (2016). ODDS Library, Stony Brook University. http://odds.cs.stonybrook.edu"

# (ADBench file stem, sha256 of the published file or None when we have not seen it)
_ADBENCH: tuple[tuple[str, str | None], ...] = (
    ("1_ALOI", "792d0b5bd1147bfc9574a1974f157b39fbd4cbed8ecd04cf983fd554498ed477"),
    ("2_annthyroid", "e738f7c58a8740d2c4aac4c71ff49ce5e1d1aa16f44178135fc9c09df05fad1b"),
    ("3_backdoor", None),
    ("4_breastw", "4f37ce07dbc25ddad8178fdc6d664ab46d2d0000ee28c2787c3c7ff3c03ef9f6"),
    ("5_campaign", "74dd4d0072d6c6f1aabab63bc102f9633454f32bb936fa9bcfbd38f9f2386bcd"),
    ("6_cardio", "bc5009bde6930b4d298b594f31b34485a9a17210cff0e8fb00a8c3068b885a2d"),
    ("7_Cardiotocography", "5ae84910430f05923e11b6f537243263977c9136949dabd891e3570aeec51e29"),
    ("8_celeba", "1cadfdea14cd8d240eca715a70c09c88af8621d086a7478c63f602d97adef0b5"),
    ("9_census", None),
    ("10_cover", "945a097c3542ae81a551bf1c06dcad78a755d94f84fcaf1d60687e42d1a656df"),
    ("11_donors", "5824ec854465f2763b4bfe3da1ae9f25ed5433b5c6e265d42e37da4f82a58679"),
    ("12_fault", "ec27301f9a4cf7c5d8b22c360cf37ddb043b7fb062465723dfd8b34e2771e5dd"),
    ("13_fraud", None),
    ("14_glass", "aa7a8db1d475ba01a10488af454bc15220a3d5951b010b03b7020567d8152cdc"),
    ("15_Hepatitis", "4a87a2f7d8013e5bfde63294fae61ec7a612322de72f338a7f9491749025ad98"),
    ("16_http", "9d98710091551587f4740cfc851a6b064fff6319a337c2dc77ee6da4bcc2e02c"),
    ("17_InternetAds", "bdd8ad5cf5bf2cb96cba53dde30d522d0f6a279083a8e2bc7efbac5981b04385"),
    ("18_Ionosphere", "bca46cb0cfd1bf9ddef6cde5ad2215d54fb0189508d0d4c4eb98e788cad69001"),
    ("19_landsat", "ba17e2158c07469597b89db49d3982c874c6b713ff6670721ddc88969da77987"),
    ("20_letter", "f986d3da80cf1fa2aea83a5ebe73b7d4800e0d4c01fdd1ae074b58d20f10d039"),
    ("21_Lymphography", "dad977b04f4ea65b78ccd0e9f76b45175bad605165b37e63f3cc177845e67037"),
    ("22_magic.gamma", "0be375984d7af9ea7a63b12206c240840d8b7daa3607021c5fb8756407dd86f1"),
    ("23_mammography", "a0308ac9712d78321073b1c2dc98dc37665c0f35c1cc33019416fe8f8d7de7ea"),
    ("24_mnist", "be7706272325fdd3592c1be555ae1a82f916a2f8545f4f8cbaa548ab102cc44c"),
    ("25_musk", "2ed3f4392197b76a1e59116ff880c7720a4b026cf4842073a53b56fdea265017"),
    ("26_optdigits", "60de17a375a278ba220a7849727d998aa02b5e2f9fd17732a004bba28de4656e"),
    ("27_PageBlocks", "10a9b4d5bb5d3b9083caab4c4062f665610eada703c3d927bf7c34b1f2d0d223"),
    ("28_pendigits", "c4936b89dcdad59d303020e492f763a0f54170080d787c77497609acbb9c2d79"),
    ("29_Pima", "215454bb263a2f040945c9ea7bd7f06f1e89a61a3143bdb6f196e3887e801a7d"),
    ("30_satellite", "1f048f5686f1b8c16a227fdfa3c81a62cd9a92715714a6b24c69b1c5ad96b46e"),
    ("31_satimage-2", "1b056e357f801b8b20c3f380a30224a3c4088d7ed764ec5a24828dc9b1918d6f"),
    ("32_shuttle", "26900b0f6be45d9ddb7a402c9b2f956ceda42d23a8ca4cf4406b8bc1352823d1"),
    ("33_skin", "d02aa01ffc1b6bf2b8b1ac250c90e8a8eacd0cefc962940ed5cc4bf5deac9c95"),
    ("34_smtp", "d2569fc9bc12115419e3f5b37d19921e10e6c26e5ad1e61064cfb0fbc402dfdd"),
    ("35_SpamBase", "d0c46c7928e43f6496bcd06e09de0b70f6bc8143792dfa0a43f450263d254e9b"),
    ("36_speech", None),
    ("37_Stamps", "99fe739447284f613fa54bf2dccdb51c5120175ce6260adec6dad77576c42509"),
    ("38_thyroid", "8de161b3f235b7647bb0b39a836d983ff61d67bf234edac461da2d71e889cb87"),
    ("39_vertebral", "0816286f92b96fe6867664a41a031ac7228dcfbf1a5feefe50ca3883b2e9073d"),
    ("40_vowels", "4bfc4244d1c882773bbbc50d4a5db5e52276e53506e46b2d45e02d074cfcb1b6"),
    ("41_Waveform", "6c9d867337ad1a2f8372c1d27f4c032f0401237e2041b7c45f00de8d319ff30f"),
    ("42_WBC", "650f9dcb129248f67a291be0974f533ef259fcbde50fce5c8ad2a1cb2652d03b"),
    ("43_WDBC", "78d4606a1ab516f5b60b00c196497f3bbd6bd5e4548fd04cf5f2475209b34b85"),
    ("44_Wilt", "c70b72aa611ec87b20efb400943ef3ce4f8bf7aa58fcef825fbd28cc5cee3cc9"),
    ("45_wine", "d5ad8965d92cc57122fe1e6572bb301adbaf795b3e166d187ae00a704d8f6e20"),
    ("46_WPBC", "68a6d67242643855713bcdad07d89ecc472bd00000dccc17ba87916eb2693d19"),
    ("47_yeast", "bbb15c873d78a4f6a589f46d0f75814595e2282d2ae7ce7779c750f276c3770d"),
)

# ODDS sets hosted in PyOD's repository (sha256 of those files)
_ODDS: tuple[tuple[str, str], ...] = (
    ("annthyroid", "17a1012d005f2179eca3b87c0028eb5ca807794b359c33fa1f8ca5ac846c514f"),
    ("arrhythmia", "e4d47e499591ae31e5d7f0cd983367092353eac240f48e14c9b36457edb3460d"),
    ("breastw", "a2e3f7c7f61ddde87c4373f0c0539de996227b9659c70b3c227948ebf0c6062b"),
    ("cardio", "5e568b6a73711012c481fa6cc984ab9c68e9a4fa44d6aeb3b43efa381c3f695b"),
    ("glass", "2c506e6e1e2ca1e82a905d10a90773151ff812c4bd969c71a12db5b2bb6e7921"),
    ("ionosphere", "8ac5dfa6f47db4acdfe10615489b7f7dd015d79d5b381ce641e72baca3cfefb0"),
    ("letter", "f4a229b0e2a6b0c9157ce27fa760bcbac0f948cd690b2f5d51c120e5450f2195"),
    ("lympho", "031b907ecb50347720b08b38f8139d05635adeca9335a064d89d5569c27a5834"),
    ("mammography", "271ebb568314a856666d3504b4882e21b0ea6e1ba9e648ad256d572a36df597e"),
    ("mnist", "9479e221f236684c09f3e11c7ad124725d34ecd301b9450425e8b113368413a6"),
    ("musk", "50bbf414caceb66cfe6f6b1eb7c1ff7c6eb1e6d87173f7bb597ba55cd3dc5493"),
    ("optdigits", "30c664cd6f3740a173277a27cd1028d471b06f0835a9902c9712749cec58c1c4"),
    ("pendigits", "7bc32ac83b3d583443acea8b1342a54aaa59eaedb9996af405322f473f3c22bc"),
    ("pima", "b6a5be8d548b9293d6958beceb1c77055591714d25d40d957eba87808456468f"),
    ("satellite", "6feac3112b9c14e1c3e60afc437f2f3d29dc1000119c9f950c628078778d6aa0"),
    ("satimage-2", "95c37a07cea2cb201f6900d14f521510e10b6b2f0074c06ac46d3157440ec67b"),
    ("shuttle", "b6e396c92354d5dcf5036901e36dc58e2913f2d1a5e138c35a2bedf9c69db899"),
    ("thyroid", "49155d7861b977e90808faf68343ff67a67f63090c2744d514dbb67ac68e7e33"),
    ("vertebral", "84b50b055f118f54b5c976650ccd284ab7c1adee822f8b3eb517c7e2c890d15e"),
    ("vowels", "51d5397bad1ceeda22b7cd44fd58125c5d603c9c2edb53aa59933330e259ac7b"),
    ("wbc", "afe6b26953cc196b9a480318c903e0edef22529c2f61bd02082438c6e70630a7"),
)


def _frozen(X: np.ndarray, y: np.ndarray) -> Data:
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y).astype(np.int64).ravel()
    X.flags.writeable = False
    y.flags.writeable = False
    return Data(X, y)


@functools.lru_cache(maxsize=4)
def read_npz(file: RemoteFile) -> Data:
    """An ADBench ``.npz`` (arrays ``X`` (n, d) and ``y`` (n,), 1 = anomaly)."""
    path = locate(file)
    try:
        with np.load(path, allow_pickle=False) as npz:
            X, y = npz["X"], npz["y"]
    except (zipfile.BadZipFile, ValueError, KeyError, OSError, EOFError) as exc:
        raise DataFileError(
            f"{path}: not a readable ADBench .npz with arrays X and y ({exc}); delete it and "
            "fetch it again"
        ) from exc
    return _frozen(X, y)


def _read_mat_v73(path: str) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB v7.3 files are HDF5; MATLAB stores arrays column-major (transposed)."""
    import h5py

    with h5py.File(path, "r") as fh:
        return np.asarray(fh["X"]).T, np.asarray(fh["y"]).T


@functools.lru_cache(maxsize=4)
def read_mat(file: RemoteFile) -> Data:
    """An ODDS ``.mat`` file (MATLAB v5, or v7.3/HDF5) with ``X`` (n, d) and ``y`` (n, 1)."""
    import h5py
    import scipy.io

    path = locate(file)
    try:
        if h5py.is_hdf5(path):  # MATLAB v7.3 (scipy refuses these)
            X, y = _read_mat_v73(str(path))
        else:
            mat = scipy.io.loadmat(path)
            X, y = mat["X"], mat["y"]
    except (ValueError, KeyError, OSError, TypeError, NotImplementedError) as exc:
        raise DataFileError(
            f"{path}: not a readable ODDS .mat file with X and y ({type(exc).__name__}: {exc}); "
            "delete it and fetch it again"
        ) from exc
    return _frozen(X, y)


def _adbench_spec(stem: str, sha256: str | None) -> DatasetSpec:
    short = stem.split("_", 1)[1]
    file = RemoteFile(
        "adbench",
        f"{stem}.npz",
        (ADBENCH_URL + f"{stem}.npz",),
        f"sha256:{sha256}" if sha256 else None,
    )
    return DatasetSpec(
        name=f"adbench/{short.lower()}",
        modality="tabular",
        load=functools.partial(read_npz, file),
        description=f"ADBench Classical '{short}' ({stem}.npz), as preprocessed by ADBench."
        + ("" if sha256 else " No published checksum (unpinned)."),
        licence="BSD-2-Clause (ADBench)",
        citation=ADBENCH_CITATION,
        files=(file,),
    )


def _odds_spec(name: str, sha256: str) -> DatasetSpec:
    file = RemoteFile("odds", f"{name}.mat", (ODDS_URL + f"{name}.mat",), f"sha256:{sha256}")
    return DatasetSpec(
        name=f"odds/{name}",
        modality="tabular",
        load=functools.partial(read_mat, file),
        description=f"ODDS '{name}' ({name}.mat, the copy in PyOD's repository).",
        licence="BSD-2-Clause (PyOD)",
        citation=ODDS_CITATION,
        files=(file,),
    )


ADBENCH = Catalog(
    {identifier(s.split("_", 1)[1].lower()): _adbench_spec(s, h) for s, h in _ADBENCH}
)
ODDS = Catalog({identifier(n): _odds_spec(n, h) for n, h in _ODDS})
