// Tests of read_picture: PNG, JPEG and PGM files written here by OpenCV in several sizes and
// colour modes (grey, RGB, RGBA, 16-bit) must come out as the 28x28 grey bytes that OpenCV's own
// cvtColor and cv::resize give; a 28x28 grey PNG round-trips byte for byte; --invert's rule; and
// every bad picture is Error(Exit::data) naming the file. The size read from each format's header
// before decoding is the size OpenCV decodes; too large a picture and a FIFO are refused at once.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <random>

#include "picture_size.hpp"
#include "test_predict_helpers.hpp"

namespace fmnist::test {
namespace {

// A real image scaled to `size` (cubic: smooth, with values that resizing back must average).
cv::Mat fixture_at(std::size_t i, int width, int height) {
  cv::Mat out;
  cv::resize(fixture_image(i), out, cv::Size(width, height), 0, 0, cv::INTER_CUBIC);
  return out;
}

cv::Mat area_28(const cv::Mat& grey) {
  cv::Mat out;
  cv::resize(grey, out, cv::Size(28, 28), 0, 0, cv::INTER_AREA);
  return out;
}

cv::Mat inverted(const cv::Mat& grey) {
  cv::Mat out;
  cv::bitwise_not(grey, out);
  return out;
}

TEST(Picture, A28x28GreyPngRoundTripsByteForByte) {
  TempDir dir;
  for (std::size_t i = 0; i < fixture_test_set().size(); ++i) {
    const std::string path = write_picture(dir, "image.png", fixture_image(i));
    const std::vector<std::uint8_t> original(fixture_test_set().image(i), fixture_test_set().image(i) + kImagePixels);
    EXPECT_EQ(read_picture(path, kTutorialInput, Invert::automatic), original) << i;
    EXPECT_EQ(read_picture(path, kTutorialInput, Invert::no), original) << i;
    EXPECT_EQ(read_picture(path, kTutorialInput, Invert::yes), bytes_of(inverted(fixture_image(i)))) << i;
  }
}

TEST(Picture, LargerGreyPicturesAreShrunkByAreaAveraging) {
  TempDir dir;
  for (int side : {29, 56, 280, 1000}) {
    const cv::Mat big = fixture_at(3, side, side);
    for (const char* name : {"big.png", "big.pgm"}) {
      EXPECT_EQ(read_picture(write_picture(dir, name, big), kTutorialInput, Invert::no), bytes_of(area_28(big)))
          << name << " " << side;
    }
  }
}

TEST(Picture, SmallerPicturesAreEnlargedBilinearly) {
  TempDir dir;
  const cv::Mat small = fixture_at(5, 14, 14);
  cv::Mat expected;
  cv::resize(small, expected, cv::Size(28, 28), 0, 0, cv::INTER_LINEAR);
  EXPECT_EQ(read_picture(write_picture(dir, "small.png", small), kTutorialInput, Invert::no), bytes_of(expected));
}

TEST(Picture, ColourIsTurnedGreyAsCvtColorDoes) {
  TempDir dir;
  cv::Mat colour;
  cv::merge(std::vector<cv::Mat>{fixture_at(1, 84, 84), fixture_at(2, 84, 84), fixture_at(4, 84, 84)}, colour);  // BGR
  cv::Mat grey;
  cv::cvtColor(colour, grey, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(read_picture(write_picture(dir, "colour.png", colour), kTutorialInput, Invert::no), bytes_of(area_28(grey)));
  EXPECT_EQ(read_picture(write_picture(dir, "colour.ppm", colour), kTutorialInput, Invert::no), bytes_of(area_28(grey)));
}

TEST(Picture, JpegIsDecodedAsOpenCvDecodesIt) {
  TempDir dir;
  cv::Mat colour;
  cv::merge(std::vector<cv::Mat>{fixture_at(6, 100, 100), fixture_at(7, 100, 100), fixture_at(8, 100, 100)}, colour);
  for (const cv::Mat& image : {colour, fixture_at(9, 100, 100)}) {
    const std::string path = write_picture(dir, "photo.jpg", image, {cv::IMWRITE_JPEG_QUALITY, 80});
    cv::Mat decoded = cv::imread(path, cv::IMREAD_ANYCOLOR);  // lossy: compare with what the decoder gives
    if (decoded.channels() == 3) cv::cvtColor(decoded, decoded, cv::COLOR_BGR2GRAY);
    EXPECT_EQ(decoded.channels(), 1);
    EXPECT_EQ(read_picture(path, kTutorialInput, Invert::no), bytes_of(area_28(decoded))) << image.channels();
  }
}

// The JPEG file with an EXIF segment (APP1) saying "rotate 90 degrees clockwise to show it" (orientation 6).
std::string with_exif_orientation_6(const std::string& jpeg) {
  const std::string tiff = std::string("II*\0\x08\0\0\0\x01\0", 10) +          // little-endian TIFF, IFD0 at 8, 1 entry
                           std::string("\x12\x01\x03\0\x01\0\0\0\x06\0\0\0", 12) +  // 0x0112 SHORT x1 = 6
                           std::string("\0\0\0\0", 4);                                   // no next IFD
  const std::string payload = std::string("Exif\0\0", 6) + tiff;
  const std::size_t length = payload.size() + 2;
  return jpeg.substr(0, 2) + "\xFF\xE1" + char(length >> 8) + char(length & 0xFF) + payload + jpeg.substr(2);
}

TEST(Picture, JpegIsTurnedAsItsExifOrientationSays) {
  TempDir dir;
  const cv::Mat image = fixture_at(0, 56, 56);  // an ankle boot: turning it shows
  const std::string plain = write_picture(dir, "plain.jpg", image, {cv::IMWRITE_JPEG_QUALITY, 95});
  write_text(dir.file("turned.jpg"), with_exif_orientation_6(read_text(plain)));
  cv::Mat turned;
  cv::rotate(cv::imread(plain, cv::IMREAD_GRAYSCALE), turned, cv::ROTATE_90_CLOCKWISE);
  EXPECT_EQ(read_picture(dir.file("turned.jpg"), kTutorialInput, Invert::no), bytes_of(area_28(turned)));
  EXPECT_NE(read_picture(plain, kTutorialInput, Invert::no), bytes_of(area_28(turned)));
}

TEST(Picture, SixteenBitSamplesAreScaledTo8Bits) {
  TempDir dir;
  cv::Mat wide;
  fixture_image(0).convertTo(wide, CV_16U, 257);  // v * 257 scales back to exactly v
  const std::vector<std::uint8_t> original = bytes_of(fixture_image(0));
  EXPECT_EQ(read_picture(write_picture(dir, "wide.png", wide), kTutorialInput, Invert::no), original);
  EXPECT_EQ(read_picture(write_picture(dir, "wide.pgm", wide), kTutorialInput, Invert::no), original);

  cv::Mat colour16;
  cv::merge(std::vector<cv::Mat>{wide, wide, wide}, colour16);
  cv::resize(colour16, colour16, cv::Size(56, 56), 0, 0, cv::INTER_NEAREST);
  cv::Mat colour8, grey;
  colour16.convertTo(colour8, CV_8U, 255.0 / 65535.0);
  cv::cvtColor(colour8, grey, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(read_picture(write_picture(dir, "colour16.png", colour16), kTutorialInput, Invert::no),
            bytes_of(area_28(grey)));
}

TEST(Picture, TransparentPartsCountAsWhiteAndALightBorderIsInverted) {
  TempDir dir;
  const cv::Mat object = fixture_at(2, 56, 56);  // a pullover, light on black
  cv::Mat dark_object;
  cv::bitwise_not(object, dark_object);          // a photo's dark pullover
  cv::Mat alpha = cv::Mat::zeros(56, 56, CV_8UC1);
  alpha.setTo(255, object > 40);                 // opaque where the pullover is
  cv::Mat rgba;
  cv::merge(std::vector<cv::Mat>{dark_object, dark_object, dark_object, alpha}, rgba);
  rgba.setTo(cv::Scalar(0, 0, 0, 0), alpha == 0);  // transparent pixels stored as black
  cv::Mat on_white = dark_object.clone();
  on_white.setTo(255, alpha == 0);
  const std::string path = write_picture(dir, "cutout.png", rgba);
  EXPECT_EQ(read_picture(path, kTutorialInput, Invert::no), bytes_of(area_28(on_white)));
  EXPECT_EQ(read_picture(path, kTutorialInput, Invert::automatic), bytes_of(inverted(area_28(on_white))));

  cv::Mat half_transparent;  // a background of alpha 128 is half the picture, half white
  cv::Mat half = alpha.clone();
  half.setTo(128, alpha == 0);
  cv::merge(std::vector<cv::Mat>{dark_object, dark_object, dark_object, half}, half_transparent);
  const std::vector<std::uint8_t> blended =
      read_picture(write_picture(dir, "half.png", half_transparent), kTutorialInput, Invert::no);
  cv::Mat expected = dark_object.clone();
  for (int r = 0; r < 56; ++r) {
    for (int c = 0; c < 56; ++c) {
      if (alpha.at<std::uint8_t>(r, c) == 0) {
        expected.at<std::uint8_t>(r, c) = cv::saturate_cast<std::uint8_t>((dark_object.at<std::uint8_t>(r, c) * 128.0 + 255.0 * 127) / 255);
      }
    }
  }
  const std::vector<std::uint8_t> want = bytes_of(area_28(expected));
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(blended[i], want[i], 1) << i;
}

TEST(Picture, AutoInvertsOnlyPicturesWithALightBorder) {
  TempDir dir;
  cv::Mat light(280, 280, CV_8UC1, cv::Scalar(240));
  cv::rectangle(light, cv::Rect(90, 60, 100, 160), cv::Scalar(30), cv::FILLED);  // a dark object on white
  const std::string path = write_picture(dir, "light.png", light);
  EXPECT_EQ(read_picture(path, kTutorialInput, Invert::automatic), bytes_of(inverted(area_28(light))));
  EXPECT_EQ(read_picture(path, kTutorialInput, Invert::yes), bytes_of(inverted(area_28(light))));
  EXPECT_EQ(read_picture(path, kTutorialInput, Invert::no), bytes_of(area_28(light)));
  cv::Mat dark;
  cv::bitwise_not(light, dark);
  EXPECT_EQ(read_picture(write_picture(dir, "dark.png", dark), kTutorialInput, Invert::automatic), bytes_of(area_28(dark)));
}

TEST(Picture, NonSquarePicturesArePaddedWithTheBorderMeanBeforeResizing) {
  TempDir dir;
  cv::Mat wide(28, 56, CV_8UC1, cv::Scalar(10));  // a uniform border of 10: the padding is 10
  fixture_image(4)(cv::Rect(2, 2, 24, 24)).copyTo(wide(cv::Rect(16, 2, 24, 24)));
  cv::Mat padded;
  cv::copyMakeBorder(wide, padded, 14, 14, 0, 0, cv::BORDER_CONSTANT, cv::Scalar(10));
  EXPECT_EQ(read_picture(write_picture(dir, "wide.png", wide), kTutorialInput, Invert::no), bytes_of(area_28(padded)));
  const cv::Mat tall = wide.t();
  cv::copyMakeBorder(tall, padded, 0, 0, 14, 14, cv::BORDER_CONSTANT, cv::Scalar(10));
  EXPECT_EQ(read_picture(write_picture(dir, "tall.png", tall), kTutorialInput, Invert::no), bytes_of(area_28(padded)));
}

TEST(Picture, BadPicturesNameTheFile) {
  TempDir dir;
  const auto message = [&](const std::string& path) {
    return expect_error(Exit::data, [&] { read_picture(path, kTutorialInput, Invert::automatic); });
  };
  EXPECT_EQ(message(dir.file("absent.png")), dir.file("absent.png") + ": cannot open (no such file)");
  EXPECT_EQ(message(dir.path()), dir.path() + ": cannot open (it is a folder, not a file)");
  write_text(dir.file("empty.png"), "");
  EXPECT_EQ(message(dir.file("empty.png")), dir.file("empty.png") + ": empty file");
  write_text(dir.file("text.png"), "this is not a picture\n");
  EXPECT_TRUE(message(dir.file("text.png")).starts_with(dir.file("text.png") + ": not a picture OpenCV can decode"));
  const std::string whole = read_text(write_picture(dir, "whole.png", fixture_at(3, 200, 200)));
  write_text(dir.file("cut.png"), whole.substr(0, whole.size() / 2));
  EXPECT_TRUE(message(dir.file("cut.png")).starts_with(dir.file("cut.png") + ": ")) << message(dir.file("cut.png"));
  cv::Mat real;
  fixture_image(0).convertTo(real, CV_32F, 1 / 255.0);
  EXPECT_EQ(message(write_picture(dir, "float.tiff", real)),
            dir.file("float.tiff") + ": 32-bit float samples: the model takes 8- or 16-bit pictures");
  EXPECT_EQ(expect_error(Exit::data, [&] { read_picture(dir.file("whole.png"), {28, 28, 3, 10}, Invert::no); }),
            dir.file("whole.png") + ": the model takes pictures of 3 channels; --predict reads grey pictures");
}

// Every format --predict reads, as OpenCV writes it at an odd size: the header's size is the decoded one.
TEST(PictureSize, HeadersOfEveryFormatGiveTheDecodedSize) {
  TempDir dir;
  cv::Mat colour;
  cv::merge(std::vector<cv::Mat>{fixture_at(1, 37, 23), fixture_at(2, 37, 23), fixture_at(4, 37, 23)}, colour);
  for (const char* name : {"a.png", "a.jpg", "a.pgm", "a.ppm", "a.pbm", "a.pam", "a.bmp", "a.tiff", "a.webp"}) {
    const cv::Mat image = std::string(name) == "a.pgm" || std::string(name) == "a.pbm" ? fixture_at(1, 37, 23) : colour;
    const std::string bytes = read_text(write_picture(dir, name, image));
    const auto size = detail::picture_size(bytes);
    ASSERT_TRUE(size.has_value()) << name;
    const cv::Mat decoded = cv::imread(dir.file(name), cv::IMREAD_UNCHANGED);
    EXPECT_EQ(size->width, std::uint64_t(decoded.cols)) << name;
    EXPECT_EQ(size->height, std::uint64_t(decoded.rows)) << name;
    EXPECT_EQ(size->width, 37u) << name;
  }
  const std::string lossless = read_text(write_picture(dir, "b.webp", colour, {cv::IMWRITE_WEBP_QUALITY, 101}));
  EXPECT_EQ(detail::picture_size(lossless)->height, 23u);  // VP8L
}

// Cut or random headers give a size or nothing, never a read past the bytes (AddressSanitizer
// builds check that), and plain text is no picture.
TEST(PictureSize, ShortAndRandomHeadersAreSafe) {
  EXPECT_FALSE(detail::picture_size("this is not a picture").has_value());
  EXPECT_FALSE(detail::picture_size("").has_value());
  std::mt19937 random(7);
  const std::vector<std::string> magics = {"\x89PNG\r\n\x1a\n", "\xFF\xD8\xFF", "P5", "P7", "BM", "II*", "MM\0*", "II+", "RIFF"};
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = magics[std::size_t(i) % magics.size()];
    const std::size_t extra = random() % 64;
    for (std::size_t k = 0; k < extra; ++k) bytes += static_cast<char>(random() % 256);
    if (i % 3 == 0 && bytes.size() > 12) bytes.replace(8, 4, "WEBP");
    (void)detail::picture_size(bytes);
  }
}

// 100,000 x 1 would be padded to 100,000 x 100,000 (10 GB): refused from the header, at once.
TEST(Picture, TooLargeOnceAPaddedPictureIsRefusedBeforeDecoding) {
  TempDir dir;
  const std::string thin = write_picture(dir, "thin.png", cv::Mat(1, 100000, CV_8UC1, cv::Scalar(200)));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(expect_error(Exit::data, [&] { read_picture(thin, kTutorialInput, Invert::automatic); }),
            thin + ": 100000 x 1 pixels, which padded to the model's 28 x 28 aspect make 10,000,000,000: more than the "
                   "limit of 67,108,864 pixels (crop or shrink it first)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // A header that declares 30000 x 30000 (no pixel data follows): refused without decoding.
  std::string png = read_text(write_picture(dir, "small.png", fixture_at(0, 30, 30)));
  png[18] = char(0x75), png[19] = char(0x30), png[22] = char(0x75), png[23] = char(0x30);  // IHDR width, height
  write_text(dir.file("huge.png"), png);
  EXPECT_NE(expect_error(Exit::data, [&] { read_picture(dir.file("huge.png"), kTutorialInput, Invert::no); })
                .find("30000 x 30000 pixels"),
            std::string::npos);
  // 8192 x 2048 pads to 8192 x 8192, the limit itself: read.
  EXPECT_EQ(read_picture(write_picture(dir, "wide.png", cv::Mat(2048, 8192, CV_8UC1, cv::Scalar(0))), kTutorialInput,
                         Invert::no),
            std::vector<std::uint8_t>(kImagePixels, 0));
}

TEST(Picture, AFifoIsRefusedWithoutWaitingForAWriter) {
  TempDir dir;
  ASSERT_EQ(::mkfifo(dir.file("x.png").c_str(), 0600), 0);
  ::alarm(20);  // a hang would end the test program
  EXPECT_EQ(expect_error(Exit::data, [&] { read_picture(dir.file("x.png"), kTutorialInput, Invert::automatic); }),
            dir.file("x.png") + ": cannot open (it is a FIFO (named pipe), not a regular file)");
  ::alarm(0);
}

}  // namespace
}  // namespace fmnist::test
